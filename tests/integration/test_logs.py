"""Structured logs end to end: replica output wrapped by its log relay, `slipway logs` filtered
by request id and time in the daemon, Slipway's own lines in their shape, and an adopted replica
that keeps logging through its surviving relay after the daemon is SIGKILLed."""

import datetime
import json
import os
import signal
import time
import unittest
import uuid

from harness import DaemonTestCase, http_get, wait_until

SLIPWAY_KEYS = ["time", "level", "component", "app", "release", "request_id", "message",
                "fields"]


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def relay_pids(log_path):
    """Live log relays writing `log_path` (found by their command line)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"log-relay" in args and log_path.encode() in args:
            found.append(int(entry))
    return found


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class LogsTest(DaemonTestCase):
    def deploy(self, replicas=2):
        res = self.daemon.cli("deploy", "-f", self.ws.spec("v1.yaml", replicas=replicas,
                                                            listen_port=self.port))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def request(self, request_id):
        status, body, headers = http_get(self.port, headers={"X-Request-ID": request_id})
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("X-Request-ID"), request_id)

    def logs_json(self, *args):
        res = self.daemon.cli("logs", "hello", "--json", *args)
        self.assertEqual(res.returncode, 0, res.stderr)
        return [json.loads(line) for line in res.stdout.splitlines()]

    def lines_for(self, request_id):
        """The request's lines once both the app's and the proxy's are there."""
        def both():
            lines = self.logs_json("--request-id", request_id)
            kinds = {"stream" in l for l in lines}
            return lines if kinds == {True, False} else None
        return wait_until(both, 20, f"the lines of request {request_id}")

    def test_request_id_finds_the_apps_line_and_the_access_line_and_nothing_else(self):
        self.deploy()
        request_id = "it-" + uuid.uuid4().hex
        self.request("it-other-" + uuid.uuid4().hex)  # another request: must not show up
        self.request(request_id)
        lines = self.lines_for(request_id)
        self.assertEqual(len(lines), 2, lines)
        app_line = next(l for l in lines if "stream" in l)
        access_line = next(l for l in lines if "stream" not in l)
        # The replica's line, wrapped by its relay.
        self.assertEqual(app_line["app"], "hello")
        self.assertEqual(app_line["release"], 1)
        self.assertIn(app_line["replica"], (0, 1))
        self.assertEqual(app_line["stream"], "stdout")
        self.assertEqual(app_line["message"], f"hello v1 GET / 200 request_id={request_id}")
        # The proxy's access line for the same request.
        self.assertEqual(access_line["request_id"], request_id)
        self.assertEqual((access_line["app"], access_line["status"], access_line["path"]),
                         ("hello", 200, "/"))
        self.assertEqual(access_line["upstream"], f"hello-r1-{app_line['replica']}")
        # Merged by time; both stamped within a few seconds of now.
        times = [parse_time(l["time"]) for l in lines]
        self.assertEqual(times, sorted(times))
        now = datetime.datetime.now(datetime.timezone.utc)
        for t in times:
            self.assertLess(abs((now - t).total_seconds()), 30)
        # The readable form: `time replica stream | message` and the proxy's line.
        res = self.daemon.cli("logs", "hello", "--request-id", request_id)
        self.assertEqual(res.returncode, 0, res.stderr)
        readable = res.stdout.splitlines()
        self.assertEqual(len(readable), 2, readable)
        self.assertIn(f"{app_line['time']} hello-r1-{app_line['replica']} stdout | "
                      f"hello v1 GET / 200 request_id={request_id}", readable)
        self.assertTrue(any(l.startswith(f"{access_line['time']} proxy access | GET / 200 ")
                            for l in readable), readable)

    def test_since_and_until_bound_the_lines(self):
        self.deploy(replicas=1)
        first, second = "it-first-" + uuid.uuid4().hex, "it-second-" + uuid.uuid4().hex
        self.request(first)
        first_line = next(l for l in self.lines_for(first) if "stream" in l)
        t_first = parse_time(first_line["time"])
        # The next request is stamped at least a millisecond later.
        wait_until(lambda: datetime.datetime.now(datetime.timezone.utc)
                   > t_first + datetime.timedelta(milliseconds=5), 5, "the clock to move on")
        self.request(second)
        second_line = next(l for l in self.lines_for(second) if "stream" in l)
        messages = lambda lines: [l["message"] for l in lines]  # noqa: E731
        until = messages(self.logs_json("--until", first_line["time"]))
        self.assertIn(first_line["message"], until)
        self.assertNotIn(second_line["message"], until)
        since = messages(self.logs_json("--since",
                                        rfc3339(t_first + datetime.timedelta(milliseconds=1))))
        self.assertNotIn(first_line["message"], since)
        self.assertIn(second_line["message"], since)
        # Exactly one line in [t, t]: the first request's (the replica logs nothing else then).
        self.assertEqual(messages(self.logs_json("--since", first_line["time"],
                                                 "--until", first_line["time"])),
                         [first_line["message"]])
        # A duration means that long ago: both requests are within the last 10 minutes.
        recent = messages(self.logs_json("--since", "10m"))
        self.assertIn(first_line["message"], recent)
        self.assertIn(second_line["message"], recent)
        # Every replica line carries its labels and a real time.
        for line in self.logs_json():
            self.assertEqual((line["app"], line["release"], line["replica"]), ("hello", 1, 0))
            self.assertIn(line["stream"], ("stdout", "stderr"))
            parse_time(line["time"])
        # Bad input is refused with a clear message.
        res = self.daemon.cli("logs", "hello", "--since", "yesterday")
        self.assertEqual(res.returncode, 2)
        self.assertIn("--since must be a duration (10m) or an RFC 3339 time", res.stderr)
        res = self.daemon.cli("logs", "hello", "--replica", "7")
        self.assertEqual(res.returncode, 1)
        self.assertIn("hello has no replica 7", res.stderr)

    def test_slipway_lines_have_the_issues_shape(self):
        self.deploy(replicas=1)
        path = os.path.join(self.ws.state_dir, "logs", "slipway.log")
        wait_until(lambda: os.path.exists(path), 10, "slipway.log")
        with open(path) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        self.assertTrue(lines)
        for line in lines:
            self.assertEqual([k for k in SLIPWAY_KEYS if k in line], list(line.keys()), line)
            for key in ("time", "level", "component", "message"):
                self.assertIn(key, line)
            parse_time(line["time"])
        ready = [l for l in lines if l.get("fields", {}).get("event") == "replica.ready"]
        self.assertTrue(ready, lines)
        self.assertEqual((ready[0]["component"], ready[0]["app"], ready[0]["release"]),
                         ("rollout", "hello", 1))
        # The same lines on the daemon's stderr, and through `slipway logs --source slipway`.
        self.assertIn(json.dumps(ready[0], separators=(",", ":")), self.daemon.log())
        mine = self.logs_json("--source", "slipway")
        self.assertIn(ready[0], mine)
        self.assertTrue(all(l["app"] == "hello" for l in mine))

    def test_an_adopted_replica_keeps_logging_after_the_daemon_is_killed(self):
        self.deploy(replicas=1)
        pid = self.daemon.status("hello")["replicas"][0]["pid"]
        before = "it-before-" + uuid.uuid4().hex
        self.request(before)
        self.lines_for(before)
        log_path = os.path.join(self.ws.state_dir, "logs", "hello", "hello-r1-0.log")
        relays = relay_pids(log_path)
        self.assertEqual(len(relays), 1, relays)
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait(timeout=30)
        # With no daemon, the proxy is gone too; the replica is still there.
        os.kill(pid, 0)
        self.daemon.start()
        wait_until(lambda: self.daemon.status("hello")["ready_replicas"] == 1, 30,
                   "the adopted replica to serve")
        self.assertEqual(self.daemon.status("hello")["replicas"][0]["pid"], pid, "adopted")
        self.assertEqual(relay_pids(log_path), relays, "the same relay survived")
        after = "it-after-" + uuid.uuid4().hex
        self.request(after)
        app_line = next(l for l in self.lines_for(after) if "stream" in l)
        self.assertEqual(app_line["message"], f"hello v1 GET / 200 request_id={after}")
        self.assertEqual((app_line["release"], app_line["replica"]), (1, 0))
        # The lines from before the crash are still there, in the same file.
        self.assertEqual(len(self.logs_json("--request-id", before)), 2)


if __name__ == "__main__":
    unittest.main()
