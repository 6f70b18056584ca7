#!/usr/bin/env python3
"""Measures the replica log relay (`slipway log-relay`): how many lines per second it wraps and
writes for a writer printing as fast as it can (`yes | head -n N`), against the same writer
appending straight to a file, and the relay's memory (VmRSS idle and its peak, VmHWM).

Usage: bench/log_relay.py [--slipway build/release/slipway] [--lines 2000000] [--rounds 3]
"""

import argparse
import os
import shutil
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = "GET /users/42 200 0.42ms request_id=4bf92f3577b34da6a3ce929d0e0e4736 upstream=hello-r3-0"


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def writer(lines):
    yes = subprocess.Popen(["yes", LINE], stdout=subprocess.PIPE)
    head = subprocess.Popen(["head", "-n", str(lines)], stdin=yes.stdout, stdout=subprocess.PIPE)
    yes.stdout.close()
    return yes, head


def through_relay(slipway, path, lines, max_bytes):
    yes, head = writer(lines)

    def fds():  # the writer's output on fd 3 (stdout), nothing on fd 4 (stderr)
        os.dup2(0, 3)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 4)

    t0 = time.monotonic()
    relay = subprocess.Popen([slipway, "log-relay", "--path", path, "--max-bytes", str(max_bytes),
                              "--app", "bench", "--release", "1", "--replica", "0"],
                             stdin=head.stdout, preexec_fn=fds, close_fds=False)
    head.stdout.close()
    peak = 0
    while relay.poll() is None:
        hwm = status_kb(relay.pid, "VmHWM")
        peak = max(peak, hwm or 0)
        time.sleep(0.01)
    elapsed = time.monotonic() - t0
    yes.wait()
    head.wait()
    return elapsed, peak


def straight_to_file(path, lines):
    yes, head = writer(lines)
    t0 = time.monotonic()
    with open(path, "wb") as out:
        shutil.copyfileobj(head.stdout, out, 64 << 10)
    head.wait()
    yes.wait()
    return time.monotonic() - t0


def idle_rss(slipway, path):
    r, w = os.pipe()

    def fds():
        os.dup2(r, 3)
        os.dup2(r, 4)

    relay = subprocess.Popen([slipway, "log-relay", "--path", path], preexec_fn=fds,
                             close_fds=False)
    os.close(r)
    os.write(w, b"one line\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (os.path.exists(path) and os.path.getsize(path)):
        time.sleep(0.01)
    rss = status_kb(relay.pid, "VmRSS")
    os.close(w)
    relay.wait()
    return rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slipway", default=os.path.join(ROOT, "build", "release", "slipway"))
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="slipway-relay-bench-")
    try:
        print(f"line: {len(LINE) + 1} bytes; {args.lines} lines per round; {args.slipway}")
        print(f"relay idle RSS: {idle_rss(args.slipway, os.path.join(tmp, 'idle.log'))} KiB")
        best_relay, best_file, peak = None, None, 0
        for _ in range(args.rounds):
            path = os.path.join(tmp, "r.log")
            for p in (path, path + ".1"):
                if os.path.exists(p):
                    os.remove(p)
            elapsed, hwm = through_relay(args.slipway, path, args.lines, 10 << 20)
            peak = max(peak, hwm)
            best_relay = elapsed if best_relay is None else min(best_relay, elapsed)
            plain = straight_to_file(os.path.join(tmp, "plain.log"), args.lines)
            best_file = plain if best_file is None else min(best_file, plain)
        print(f"through the relay: {args.lines / best_relay:,.0f} lines/s "
              f"({args.lines * (len(LINE) + 1) / best_relay / 1e6:.0f} MB/s of output), "
              f"peak RSS {peak} KiB")
        print(f"straight to a file: {args.lines / best_file:,.0f} lines/s")
        print(f"ratio relay/file: {best_file / best_relay:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
