#!/usr/bin/env python3
"""Command-line load generator for the demo: GET / through the proxy at a steady rate until a
stop file appears (or --max-seconds pass), then prints a JSON summary of every status and
socket error."""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import LoadGen  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--max-seconds", type=int, default=300)
    args = ap.parse_args()
    load = LoadGen(args.port, rate=args.rate, max_seconds=args.max_seconds).start()
    deadline = time.monotonic() + args.max_seconds
    while not os.path.exists(args.stop_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    print(json.dumps(load.stop()))


if __name__ == "__main__":
    main()
