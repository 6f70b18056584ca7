#!/usr/bin/env python3
"""Measures what `slipway deploy` costs beyond waiting for health checks.

Runs the release build's daemon with 3 replicas of examples/hello and performs N rolling deploys
(max surge 1, so replicas are replaced one after another). For each deploy it takes the wall time
of the CLI command and subtracts the time the replicas spent becoming ready (from the deploy's own
"is ready (after X)" events, which are on the critical path one after another). What remains is
Slipway's own overhead: spawning, pool updates, draining, stopping, SQLite writes, CLI polling.

Usage: bench/deploy_time.py [--rounds 10]   (after scripts/build release)
"""

import argparse
import os
import re
import statistics
import subprocess
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


def ms(text):
    value, unit = re.match(r"([\d.]+)(ms|s)", text).groups()
    return float(value) * (1000 if unit == "s" else 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    ws = harness.Workspace(prefix="slipway-bench-")
    daemon = harness.Daemon(ws).start()
    port = harness.free_port()
    rows = []
    try:
        for i in range(args.rounds + 1):
            path = ws.spec(f"r{i}.yaml", version=f"v{i}", replicas=3, listen_port=port,
                           readiness={"interval": "100ms", "success_threshold": 1,
                                      "startup_timeout": "10s"})
            t0 = time.monotonic()
            res = daemon.cli("deploy", "-f", path)
            wall = (time.monotonic() - t0) * 1000
            if res.returncode != 0:
                sys.exit(f"deploy failed: {res.stdout}{res.stderr}")
            ready = [ms(m) for m in re.findall(r"is ready \(after ([\d.]+m?s)\)", res.stdout)]
            if i == 0:
                continue  # the first deploy starts all replicas at once; measure updates only
            rows.append((wall, sum(ready)))
    finally:
        daemon.stop()
        ws.cleanup()
    walls = [w for w, _ in rows]
    health = [h for _, h in rows]
    over = [w - h for w, h in rows]
    print(f"rolling deploy of 3 replicas (surge 1), {len(rows)} rounds, readiness every 100ms")
    print(f"{'':24}{'median':>10}{'max':>10}")
    for name, values in (("wall time of deploy", walls), ("waiting for readiness", health),
                         ("Slipway's own overhead", over)):
        print(f"{name:24}{statistics.median(values):>8.0f}ms{max(values):>8.0f}ms")


if __name__ == "__main__":
    main()
