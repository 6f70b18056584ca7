#!/usr/bin/env python3
"""Process driver vs docker driver, in the same run: start-to-ready of one hello replica and the
deploy time of 3 replicas, both from nothing (the app is stopped between rounds).

One release-build daemon runs two apps side by side: `hello-proc` (examples/hello as a process)
and `hello-dock` (the same program built static, as a FROM scratch image in a dockerd this script
starts, see tests/integration/docker_harness.py). Rounds alternate between them. Start-to-ready
is the replica's own "is ready (after X)" event: from Slipway starting it (spawn, or container
create + start) to its first passing readiness probe (probed every 100 ms). Deploy time is the
wall time of `slipway deploy` of 3 replicas (max surge 1, all three start at once from nothing).

Usage: bench/driver_startup.py [--rounds 5]   (after scripts/build release; needs root + dockerd)
"""

import argparse
import os
import re
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("SLIPWAY_BIN", os.path.join(ROOT, "build", "release", "slipway"))
os.environ.setdefault("HELLO_BIN", os.path.join(ROOT, "build", "release", "examples", "hello",
                                                "hello"))
os.environ.setdefault("HELLO_STATIC_BIN", os.path.join(ROOT, "build", "release", "examples",
                                                       "hello", "hello-static"))
import harness  # noqa: E402

harness.SLIPWAY = os.environ["SLIPWAY_BIN"]
harness.HELLO = os.environ["HELLO_BIN"]
import docker_harness  # noqa: E402

docker_harness.HELLO_STATIC = os.environ["HELLO_STATIC_BIN"]


def ms(text):
    value, unit = re.match(r"([\d.]+)(ms|s)", text).groups()
    return float(value) * (1000 if unit == "s" else 1)


def spec(ws, app, port, image=None):
    head = (f"image: {image}\n" if image else "command: ./hello\nuser: nobody\n")
    return ws.write_spec(f"{app}.yaml", (
        f"app: {app}\n{head}replicas: 3\n"
        f"env:\n  VERSION: v1\n"
        f"limits:\n  memory: 64Mi\n  processes: 32\n  open_files: 256\n"
        f"readiness:\n  type: http\n  path: /up\n  interval: 100ms\n  startup_timeout: 15s\n"
        f"stop:\n  grace_period: 5s\n"
        f"strategy:\n  type: rolling\n  max_surge: 1\n  max_unavailable: 0\n"
        f"proxy:\n  listen: 127.0.0.1:{port}\n  drain_timeout: 1s\n"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if not docker_harness.dockerd_path():
        sys.exit("driver_startup: dockerd is not installed (scripts/setup installs docker.io)")
    dockerd = docker_harness.TestDockerd().start()
    ws = harness.Workspace(prefix="slipway-bench-")
    daemon = harness.Daemon(ws, ["--docker-host", dockerd.host]).start()
    results = {"process": {"ready": [], "deploy": []}, "docker": {"ready": [], "deploy": []}}
    try:
        image = dockerd.engine.build_hello("hello:bench", "bench")
        specs = {"process": spec(ws, "hello-proc", harness.free_port()),
                 "docker": spec(ws, "hello-dock", harness.free_port(), image=image)}
        apps = {"process": "hello-proc", "docker": "hello-dock"}
        for _ in range(args.rounds):
            for driver in ("process", "docker"):
                t0 = time.monotonic()
                res = daemon.cli("deploy", "-f", specs[driver])
                wall = (time.monotonic() - t0) * 1000
                if res.returncode != 0:
                    sys.exit(f"{driver} deploy failed: {res.stdout}{res.stderr}")
                ready = [ms(m) for m in re.findall(r"is ready \(after ([\d.]+m?s)\)", res.stdout)]
                results[driver]["ready"] += ready
                results[driver]["deploy"].append(wall)
                stop = daemon.cli("stop", apps[driver])
                if stop.returncode != 0:
                    sys.exit(f"stop failed: {stop.stdout}{stop.stderr}")
                harness.wait_until(lambda a=apps[driver]: not daemon.status(a)["replicas"],
                                   30, f"{apps[driver]} to stop")
    finally:
        daemon.stop()
        ws.cleanup()
        dockerd.stop()
    print(f"start-to-ready of one hello replica and deploy of 3 replicas from nothing, "
          f"{args.rounds} rounds each, readiness every 100ms")
    print(f"{'':34}{'process':>16}{'docker':>16}")
    for key, name in (("ready", "start-to-ready, median (max)"),
                      ("deploy", "deploy of 3 replicas, median (max)")):
        cells = [f"{statistics.median(results[d][key]):.0f} ms ({max(results[d][key]):.0f})"
                 for d in ("process", "docker")]
        print(f"{name:34}{cells[0]:>16}{cells[1]:>16}")


if __name__ == "__main__":
    main()
