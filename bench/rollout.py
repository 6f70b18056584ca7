#!/usr/bin/env python3
"""Measures how fast and how well Slipway's progressive delivery protects users, with the
release build's daemon, examples/hello replicas and real HTTP load on 127.0.0.1:

  safety     a canary with FAIL_RATE=0.3 at weight 20 under 200 req/s: seconds from the canary's
             first request (its weight being set; its first failure follows within milliseconds)
             to it getting no new requests (the abort), the 5xx the canary answered in that time,
             and the 5xx clients saw (the proxy retries a canary's 5xx on the stable release).
  rollback   blue-green: abort within the scale-down delay (old set warm) until every request is
             answered by the old release; and `slipway rollback` after the old set is gone (cold
             start), minus the replicas' own time to become ready.
  verdicts   N healthy canaries (0.1% errors, same latency) must pass and N slow ones (+200 ms)
             must fail, each judged by error rate, p95 ratio and Mann-Whitney U.

Usage: bench/rollout.py [--only safety,rollback,verdicts] [--runs 20] [--json]
       (after scripts/build release)
"""

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("SLIPWAY_BIN", os.path.join(ROOT, "build", "release", "slipway"))
os.environ.setdefault("HELLO_BIN", os.path.join(ROOT, "build", "release", "examples", "hello",
                                                "hello"))
import harness  # noqa: E402

harness.SLIPWAY = os.environ["SLIPWAY_BIN"]
harness.HELLO = os.environ["HELLO_BIN"]
from harness import Daemon, LoadGen, Workspace, free_port, wait_until  # noqa: E402

class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP to the daemon's admin socket (what the CLI speaks)."""

    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.unix_path)


READINESS = {"interval": "100ms", "success_threshold": 1, "startup_timeout": "15s"}


def wall(at):
    """RFC 3339 event time -> seconds (wall clock)."""
    return time.mktime(time.strptime(at[:19], "%Y-%m-%dT%H:%M:%S")) + float(at[19:-1] or 0)


class Bench:
    def __init__(self):
        self.ws = Workspace(prefix="slipway-bench-")
        self.daemon = Daemon(self.ws).start()
        self.port = free_port()
        self.version = 0

    def close(self):
        self.daemon.stop()
        self.ws.cleanup()

    def deploy(self, strategy, env=None, extra="", detach=True, replicas=2):
        self.version += 1
        spec = self.ws.spec(f"v{self.version}.yaml", version=f"v{self.version}",
                            replicas=replicas, listen_port=self.port, env=env, extra=extra,
                            readiness=READINESS, strategy_yaml=strategy)
        args = ["deploy", "-f", spec] + (["--detach"] if detach else [])
        res = self.daemon.cli(*args)
        if res.returncode != 0:
            raise RuntimeError(res.stdout + res.stderr)
        return self.version

    def release(self, number):
        out = json.loads(self.daemon.cli("releases", "hello", "--json").stdout)
        return [r for r in out if r["number"] == number][0]

    def wait_final(self, number, timeout=120):
        wait_until(lambda: self.release(number)["outcome"] != "deploying", timeout,
                   f"release {number} to finish", interval=0.1)
        return self.release(number)

    def events(self, number):
        conn = UnixHTTPConnection(self.daemon.socket_path)
        conn.request("GET", f"/v1/apps/hello/events?release={number}&after=0")
        events = json.loads(conn.getresponse().read())["events"]
        conn.close()
        return events

    def analysis(self, number):
        return json.loads(self.daemon.cli("status", "hello", "--json").stdout).get("rollout")


def first_version(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/")
    body = conn.getresponse().read().decode()
    conn.close()
    return body.split(" ")[2] if body.startswith("Hello from ") else "?"


def all_version(port, version, n=50):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        for _ in range(n):
            conn.request("GET", "/")
            if not conn.getresponse().read().decode().startswith(f"Hello from {version} "):
                return False
        return True
    finally:
        conn.close()


def safety(runs):
    out = []
    for _ in range(runs):
        b = Bench()
        try:
            steps = "  type: canary\n  steps:\n    - weight: 20\n    - analysis: 60s\n"
            b.deploy(steps, detach=False)
            load = LoadGen(b.port, rate=200, workers=8).start()
            wait_until(lambda: load.total() > 200, 30, "load to run")
            canary = b.deploy(steps, env={"FAIL_RATE": "0.3"})
            release = b.wait_final(canary)
            result = load.stop()
            events = b.events(canary)
            t_weight = [wall(e["at"]) for e in events if e["kind"] == "rollout.weight"][0]
            t_abort = [wall(e["at"]) for e in events if e["kind"] == "rollout.aborted"][0]
            failed = [e for e in events if e["kind"] == "analysis.fail"]
            m = re.search(r"error rate ([\d.]+)% > [\d.]+% \((\d+) requests\)", release["reason"])
            canary_requests = int(m.group(2)) if m else 0
            canary_5xx = round(canary_requests * float(m.group(1)) / 100) if m else 0
            seconds = t_abort - t_weight
            out.append({"outcome": release["outcome"], "seconds": round(seconds, 3),
                        "canary_requests": canary_requests, "canary_5xx": canary_5xx,
                        "all_requests_in_that_time": round(seconds * result["rate"]),
                        "client_5xx": result["non_2xx"], "client_errors": result["socket_errors"],
                        "client_requests": result["requests"], "reason": release["reason"],
                        "first_fail_event": failed[0]["message"] if failed else ""})
        finally:
            b.close()
    return out


def rollback(runs):
    warm, cold = [], []
    for _ in range(runs):
        b = Bench()
        try:
            bg = "  type: blue-green\n  auto_promote: 0s\n  scale_down_delay: 60s\n"
            b.deploy(bg, detach=False)
            second = b.deploy(bg)
            wait_until(lambda: (r := b.analysis(second)) and r["phase"] == "scale_down", 60,
                       "the switch")
            wait_until(lambda: all_version(b.port, f"v{second}"), 10, "the new set to serve")
            t0 = time.monotonic()
            res = b.daemon.cli("rollback", "hello")
            wait_until(lambda: all_version(b.port, "v1", 20), 10, "the old set", interval=0.005)
            warm.append(round(time.monotonic() - t0, 3))
            if res.returncode != 0:
                raise RuntimeError(res.stdout + res.stderr)
            b.wait_final(second)

            # Cold: v3 finishes (old set gone), then roll back to v1's spec.
            quick = "  type: blue-green\n  auto_promote: 0s\n  scale_down_delay: 0s\n"
            third = b.deploy(quick, detach=False)
            wait_until(lambda: all(r["release"] == third
                                   for r in b.daemon.status("hello")["replicas"]), 30,
                       "the old set to stop")
            t0 = time.monotonic()
            res = b.daemon.cli("rollback", "hello", "--detach")
            if res.returncode != 0:
                raise RuntimeError(res.stdout + res.stderr)
            number = json.loads(b.daemon.cli("releases", "hello", "--json").stdout)[-1]["number"]
            wait_until(lambda: all_version(b.port, "v1", 20), 30, "the rollback", interval=0.005)
            took = time.monotonic() - t0
            events = b.events(number)
            ready = [float(m.group(1)) * (1 if m.group(2) == "s" else 0.001)
                     for e in events
                     if (m := re.search(r"is ready \(after ([\d.]+)(ms|s)\)", e["message"]))]
            cold.append({"seconds": round(took, 3), "readiness": round(max(ready, default=0), 3),
                         "beyond_readiness": round(took - max(ready, default=0), 3)})
        finally:
            b.close()
    return {"warm_seconds": warm, "cold": cold}


def verdicts(runs):
    checks = ("analysis:\n  interval: 1s\n  window: 10s\n  checks:\n"
              "    - metric: error_rate\n      max: 5%\n"
              "    - metric: latency_p95_vs_baseline\n      max: 1.5\n"
              "    - metric: mann_whitney\n      confidence: 0.95\n      min_effect: 10ms\n")
    steps = "  type: canary\n  steps:\n    - weight: 50\n    - analysis: 6s\n"
    b = Bench()
    results = {"healthy": [], "slow": []}
    try:
        b.deploy(steps, extra=checks, detach=False, env={"FAIL_RATE": "0.001"})
        load = LoadGen(b.port, rate=100, workers=8).start()
        for i in range(runs):
            for kind, env in (("healthy", {"FAIL_RATE": "0.001"}),
                              ("slow", {"FAIL_RATE": "0.001", "LATENCY_MS": "200"})):
                number = b.deploy(steps, env=env, extra=checks)
                release = b.wait_final(number)
                results[kind].append({"outcome": release["outcome"], "reason": release["reason"]})
        load.stop()
    finally:
        b.close()
    return {kind: {"passed": sum(r["outcome"] == "succeeded" for r in rs),
                   "aborted": sum(r["outcome"] == "aborted" for r in rs), "runs": len(rs),
                   "reasons": sorted({r["reason"][:120] for r in rs if r["reason"]})[:5]}
            for kind, rs in results.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="safety,rollback,verdicts")
    ap.add_argument("--runs", type=int, default=20, help="verdict runs of each kind")
    ap.add_argument("--safety-runs", type=int, default=3)
    ap.add_argument("--rollback-runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    only = set(args.only.split(","))
    report = {}
    if "safety" in only:
        report["safety"] = safety(args.safety_runs)
    if "rollback" in only:
        report["rollback"] = rollback(args.rollback_runs)
    if "verdicts" in only:
        report["verdicts"] = verdicts(args.runs)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    if "safety" in report:
        print("time to safety (FAIL_RATE=0.3 canary at weight 20, 200 req/s):")
        for r in report["safety"]:
            share = 100.0 * r["canary_5xx"] / max(1, r["all_requests_in_that_time"])
            print(f"  {r['outcome']:<8} {r['seconds']:.2f} s; canary answered {r['canary_5xx']} "
                  f"5xx of {r['canary_requests']} ({share:.2f}% of all "
                  f"{r['all_requests_in_that_time']} requests then); clients saw "
                  f"{r['client_5xx']} 5xx, {r['client_errors']} socket errors of "
                  f"{r['client_requests']}")
        secs = [r["seconds"] for r in report["safety"]]
        print(f"  median {statistics.median(secs):.2f} s   (Argo Rollouts: interval x "
              "(failureLimit+1), e.g. 1m x 1 = 60 s; Flagger defaults: 1m x 5 = 5 min)")
    if "rollback" in report:
        rb = report["rollback"]
        print(f"rollback, warm (blue-green within the scale-down delay): {rb['warm_seconds']} s")
        print("rollback, cold: " + ", ".join(
            f"{c['seconds']} s ({c['beyond_readiness']} s beyond readiness {c['readiness']} s)"
            for c in rb["cold"]))
    if "verdicts" in report:
        v = report["verdicts"]
        print(f"verdicts: healthy canary passed {v['healthy']['passed']}/{v['healthy']['runs']}; "
              f"+200 ms canary aborted {v['slow']['aborted']}/{v['slow']['runs']}")
        for kind in ("healthy", "slow"):
            for reason in v[kind]["reasons"]:
                print(f"  {kind}: {reason}")


if __name__ == "__main__":
    main()
