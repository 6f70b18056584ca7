"""Alert rules with the real daemon, real replicas, real traffic and a real webhook receiver
(http.server on 127.0.0.1): a replica failing 20% of its requests fires the built-in 5xx alert
after its (shortened) `for` and a fix deploy resolves it, with exactly one firing and one
resolved notification in Alertmanager's v4 body; a receiver that is down at first gets the
notification after retries; one that stays down leaves a dead letter; a daemon restart does not
notify again; a failed deploy and a rollback fire their event alerts once each."""

import calendar
import json
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Daemon, DaemonTestCase, LoadGen, free_port, wait_until

ZERO_TIME = "0001-01-01T00:00:00Z"


class Receiver:
    """An Alertmanager webhook receiver: records every POSTed body, answers 200."""

    def __init__(self, port=0):
        received = self.received = []
        lock = self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with lock:
                    received.append({"path": self.path,
                                     "content_type": self.headers.get("Content-Type"),
                                     "body": json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self, alertname=None):
        with self.lock:
            out = [r["body"] for r in self.received]
        if alertname:
            out = [b for b in out if b["groupLabels"].get("alertname") == alertname]
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def alerts_section(receiver_port, retry="{initial_backoff: 200ms, max_backoff: 1s, "
                                         "give_up_after: 2m}",
                   builtin="    error_rate: {for: 2s}\n"):
    return ("alerts:\n"
            "  receivers:\n"
            f"    - name: test\n      url: http://127.0.0.1:{receiver_port}/hook\n"
            "      timeout: 2s\n"
            "  group_wait: 0s\n"
            "  group_interval: 1s\n"
            "  repeat_interval: 1h\n"
            "  external_url: http://slipway.test\n"
            f"  retry: {retry}\n"
            "  builtin:\n" + builtin)


class AlertsTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.receivers = []
        self.load = None

    def tearDown(self):
        if self.load:
            self.load.stop()
        for r in self.receivers:
            r.close()
        super().tearDown()

    def receiver(self, port=0):
        r = Receiver(port)
        self.receivers.append(r)
        return r

    def deploy(self, name, fail_rate, receiver_port, version, **kwargs):
        spec = self.ws.spec(name, version=version, replicas=2, listen_port=self.port,
                            env={"FAIL_RATE": str(fail_rate)},
                            extra=alerts_section(receiver_port, **kwargs))
        res = self.daemon.cli("deploy", "-f", spec)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def alerts(self, daemon=None):
        res = (daemon or self.daemon).cli("alerts", "hello", "--json")
        self.assertEqual(res.returncode, 0, res.stderr)
        return json.loads(res.stdout)

    def alert(self, alertname):
        found = [a for a in self.alerts()["alerts"] if a["alertname"] == alertname]
        return found[0] if found else None

    def wait_evaluations(self, n):
        """Waits until the daemon has evaluated `n` more times (instead of sleeping)."""
        start = self.alerts()["evaluations"]
        wait_until(lambda: self.alerts()["evaluations"] >= start + n, 30,
                   f"{n} more evaluations")

    def check_firing_body(self, body):
        self.assertEqual(body["version"], "4")
        self.assertEqual(body["status"], "firing")
        self.assertEqual(body["receiver"], "test")
        self.assertEqual(body["groupKey"], '{}:{alertname="HighErrorRate", app="hello"}')
        self.assertEqual(body["truncatedAlerts"], 0)
        self.assertEqual(body["groupLabels"], {"alertname": "HighErrorRate", "app": "hello"})
        self.assertEqual(body["externalURL"], "http://slipway.test")
        self.assertEqual(len(body["alerts"]), 1)
        alert = body["alerts"][0]
        self.assertEqual(alert["status"], "firing")
        self.assertEqual(alert["labels"], {"alertname": "HighErrorRate", "app": "hello",
                                           "severity": "critical"})
        self.assertEqual(body["commonLabels"], alert["labels"])
        self.assertIn("more than 5.0% of requests fail", alert["annotations"]["summary"])
        self.assertEqual(alert["endsAt"], ZERO_TIME)
        self.assertEqual(alert["generatorURL"], "http://slipway.test/v1/alerts?app=hello")
        self.assertRegex(alert["fingerprint"], r"^[0-9a-f]{16}$")
        self.assertRegex(alert["startsAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def check_resolved_body(self, body, firing):
        self.assertEqual(body["status"], "resolved")
        self.assertEqual(body["groupKey"], firing["groupKey"])
        alert = body["alerts"][0]
        self.assertEqual(alert["status"], "resolved")
        self.assertEqual(alert["fingerprint"], firing["alerts"][0]["fingerprint"])
        self.assertEqual(alert["startsAt"], firing["alerts"][0]["startsAt"])
        self.assertNotEqual(alert["endsAt"], ZERO_TIME)
        self.assertGreater(alert["endsAt"], alert["startsAt"])


class ErrorRateAlertTest(AlertsTestCase):
    def test_fires_after_for_and_resolves_after_a_fix_with_one_notification_each(self):
        receiver = self.receiver()
        self.deploy("v1.yaml", 0.2, receiver.port, "v1")
        self.load = LoadGen(self.port, rate=100).start()
        pending = wait_until(lambda: (a := self.alert("HighErrorRate")) and a, 30,
                             "the 5xx alert")
        self.assertIn(pending["state"], ("pending", "firing"))
        firing = wait_until(lambda: (a := self.alert("HighErrorRate"))
                            and a["state"] == "firing" and a, 30, "the 5xx alert to fire")
        # It fired no sooner than `for` after it became pending.
        self.assertGreaterEqual(time_of(firing["fired_at"]) - time_of(firing["active_since"]),
                                2.0 - 0.01)
        self.assertTrue(firing["value_text"].endswith("%"))
        wait_until(lambda: len(receiver.bodies()) >= 1, 30, "the firing notification")
        self.check_firing_body(receiver.bodies()[0])
        self.assertEqual(receiver.received[0]["path"], "/hook")
        self.assertEqual(receiver.received[0]["content_type"], "application/json")
        wait_until(lambda: self.alert("HighErrorRate")["delivery"][0]["status"] == "delivered",
                   30, "the delivery to be recorded")
        text = self.daemon.cli("alerts", "hello").stdout
        self.assertIn("HighErrorRate", text)
        self.assertIn("firing", text)
        self.assertIn("test: firing delivered", text)

        # Firing on: evaluations continue, notifications do not.
        self.wait_evaluations(5)
        self.assertEqual(len(receiver.bodies()), 1)

        self.deploy("v2.yaml", 0, receiver.port, "v2")
        wait_until(lambda: self.alert("HighErrorRate")["state"] == "resolved", 60,
                   "the 5xx alert to resolve")
        wait_until(lambda: len(receiver.bodies()) >= 2, 30, "the resolved notification")
        self.wait_evaluations(5)
        bodies = receiver.bodies()
        self.assertEqual(len(bodies), 2, json.dumps(bodies, indent=1))
        self.check_resolved_body(bodies[1], bodies[0])
        self.assertIn("resolved", self.daemon.cli("alerts", "hello").stdout)
        # No other built-in rule fired meanwhile.
        self.assertEqual({b["groupLabels"]["alertname"] for b in bodies}, {"HighErrorRate"})

    def test_a_receiver_down_at_first_gets_the_notification_after_retries(self):
        port = free_port()  # nothing listens yet
        self.deploy("v1.yaml", 0.2, port, "v1")
        self.load = LoadGen(self.port, rate=100).start()

        def retrying():
            a = self.alert("HighErrorRate")
            if not a or a["state"] != "firing" or not a["delivery"]:
                return None
            d = a["delivery"][0]
            return d if d["status"] == "pending" and d["attempts"] >= 3 else None

        delivery = wait_until(retrying, 60, "failed attempts to the closed port")
        self.assertIn("Connection refused", delivery["last_error"])
        self.assertIn("retrying", self.daemon.cli("alerts", "hello").stdout)
        self.assertIn("undelivered notifications", self.daemon.cli("alerts", "hello").stdout)

        receiver = self.receiver(port)
        wait_until(lambda: len(receiver.bodies()) >= 1, 30, "the notification after retries")
        self.check_firing_body(receiver.bodies()[0])
        wait_until(lambda: self.alerts()["notifications"][0]["status"] == "delivered", 30,
                   "the delivery to be recorded")
        notes = self.alerts()["notifications"]
        self.assertGreaterEqual(notes[0]["attempts"], 4)
        self.assertEqual(len(notes), 1)

        self.deploy("v2.yaml", 0, port, "v2")
        wait_until(lambda: len(receiver.bodies()) >= 2, 60, "the resolved notification")
        self.wait_evaluations(5)
        bodies = receiver.bodies()
        self.assertEqual([b["status"] for b in bodies], ["firing", "resolved"])
        self.check_resolved_body(bodies[1], bodies[0])

    def test_a_receiver_that_stays_down_leaves_a_dead_letter(self):
        port = free_port()
        self.deploy("v1.yaml", 0.2, port, "v1",
                    retry="{initial_backoff: 100ms, max_backoff: 200ms, give_up_after: 1s}")
        self.load = LoadGen(self.port, rate=100).start()
        note = wait_until(lambda: next((n for n in self.alerts()["notifications"]
                                        if n["status"] == "dead_letter"), None), 60,
                          "a dead letter")
        self.assertEqual(note["alert_status"], "firing")
        self.assertEqual(note["receiver"], "test")
        self.assertGreaterEqual(note["attempts"], 3)
        self.assertIn("gave up after", note["last_error"])
        text = self.daemon.cli("alerts", "hello").stdout
        self.assertIn("dead letter", text)
        self.assertEqual(self.alert("HighErrorRate")["state"], "firing")

    def test_a_restarted_daemon_does_not_notify_a_still_firing_alert_again(self):
        receiver = self.receiver()
        self.deploy("v1.yaml", 0.2, receiver.port, "v1")
        self.load = LoadGen(self.port, rate=100).start()
        wait_until(lambda: len(receiver.bodies()) >= 1, 60, "the firing notification")
        self.daemon.stop()
        self.daemon = Daemon(self.ws).start()
        wait_until(lambda: self.daemon.status("hello")["ready_replicas"] == 2, 60,
                   "the app to be back")
        self.assertEqual(self.alert("HighErrorRate")["state"], "firing")
        # Traffic comes back with the same 20% of errors: the alert still fires, as sent.
        self.wait_evaluations(8)
        self.assertEqual(self.alert("HighErrorRate")["state"], "firing")
        self.assertEqual(len(receiver.bodies()), 1)
        self.deploy("v2.yaml", 0, receiver.port, "v2")
        wait_until(lambda: len(receiver.bodies()) >= 2, 60, "the resolved notification")
        self.wait_evaluations(5)
        self.assertEqual([b["status"] for b in receiver.bodies()], ["firing", "resolved"])


class EventAlertTest(AlertsTestCase):
    def test_a_failed_deploy_and_a_rollback_fire_once_each_then_resolve(self):
        receiver = self.receiver()
        events = ("    deploy_failed: {resolve_after: 3s}\n"
                  "    rollback: {resolve_after: 3s}\n")
        self.deploy("v1.yaml", 0, receiver.port, "v1", builtin=events)
        spec = self.ws.spec("v2.yaml", version="v2", replicas=2, listen_port=self.port,
                            env={"UNHEALTHY": "1"},
                            readiness={"interval": "200ms", "startup_timeout": "1s"},
                            extra=alerts_section(receiver.port, builtin=events))
        res = self.daemon.cli("deploy", "-f", spec)
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        wait_until(lambda: len(receiver.bodies("DeployFailed")) >= 2, 60,
                   "DeployFailed to fire and resolve")
        failed = receiver.bodies("DeployFailed")
        self.assertEqual([b["status"] for b in failed], ["firing", "resolved"])
        self.assertEqual(failed[0]["alerts"][0]["labels"]["release"], "2")
        self.assertEqual(failed[0]["alerts"][0]["labels"]["severity"], "warning")
        self.assertEqual(failed[0]["alerts"][0]["annotations"]["summary"],
                         "hello: release 2 failed to deploy")

        res = self.daemon.cli("deploy", "-f", self.ws.spec(
            "v3.yaml", version="v3", replicas=2, listen_port=self.port,
            extra=alerts_section(receiver.port, builtin=events)))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        res = self.daemon.cli("rollback", "hello")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        wait_until(lambda: len(receiver.bodies("RolledBack")) >= 2, 60,
                   "RolledBack to fire and resolve")
        self.wait_evaluations(3)
        rolled = receiver.bodies("RolledBack")
        self.assertEqual([b["status"] for b in rolled], ["firing", "resolved"])
        self.assertEqual(rolled[0]["alerts"][0]["labels"]["release"], "4")
        self.assertEqual(rolled[0]["alerts"][0]["annotations"]["summary"],
                         "hello: release 4 rolls back to release 1")
        self.assertEqual(len(receiver.bodies("DeployFailed")), 2)


def time_of(rfc3339):
    """Seconds since the epoch of an RFC 3339 UTC time with milliseconds."""
    whole, _, rest = rfc3339.partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + int(rest[:3]) / 1000.0


if __name__ == "__main__":
    unittest.main()
