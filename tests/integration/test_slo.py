"""SLOs with the real daemon, real replicas and real traffic: the numbers `slipway status --json`,
`GET /v1/apps/APP/slo` (through the CLI) and /metrics show match the load generator's own counts
exactly (requests, 5xx answers, slow requests), they survive a daemon restart (SIGTERM, start
again: the 1h window still holds the earlier requests), and a shortened ErrorBudgetBurn alert
fires to a real webhook receiver and resolves after a fix deploy."""

import json
import time
import unittest

from harness import Daemon, LoadGen, Workspace, free_port, stop_daemon, wait_until
from test_alerts import Receiver
from test_metrics import parse, scrape, select, PROMTOOL
import subprocess

# The fewest answers each wall-clock minute of a run_load gets (see there).
MIN_ANSWERS_PER_MINUTE = 150

SLO = """slo:
  availability: {target: 99%, minute_error_rate: 50%}
  latency: {p95: 100ms}
  error_rate: 1%
"""


def objective(status, slo):
    found = [o for o in status["slo"] if o["slo"] == slo]
    return found[0] if found else None


def window(status, slo, name="1h"):
    o = objective(status, slo)
    if not o:
        return None
    return [w for w in o["windows"] if w["window"] == name][0]


class SloTestCase(unittest.TestCase):
    def setUp(self):
        self.ws = Workspace()
        self.metrics_port = free_port()
        self.daemon = self.start_daemon()
        self.port = free_port()
        self.receivers = []
        self.load = None

    def start_daemon(self):
        return Daemon(self.ws, extra_args=["--metrics-listen",
                                           f"127.0.0.1:{self.metrics_port}"]).start()

    def tearDown(self):
        if self.load:
            self.load.stop()
        for r in self.receivers:
            r.close()
        stop_daemon(self, self.daemon)
        self.ws.cleanup()

    def deploy(self, name, version, env, extra):
        spec = self.ws.spec(name, version=version, replicas=2, listen_port=self.port, env=env,
                            extra=extra)
        res = self.daemon.cli("deploy", "-f", spec)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def metrics(self):
        status, _, text = scrape(self.metrics_port)
        self.assertEqual(status, 200, text)
        return text

    def run_load(self, seconds_of_requests, rate=40):
        """Runs the load generator until it has `seconds_of_requests * rate` answers and every
        wall-clock minute it reached has MIN_ANSWERS_PER_MINUTE of them; returns (requests, 5xx
        answers) as the clients counted them.

        Why: availability judges each minute by its own 5xx share (minute_error_rate 50%) and
        FAIL_RATE draws at random, so a minute with few answers could go over by chance (2 or 3
        answers: 4% or 10%) and be bad. With at least 150 answers in each minute the load
        touches, a 20% FAIL_RATE goes over 50% with a chance below 1e-16: every minute is good,
        as the test asserts. The load starts with at least 12 s left in its minute, does not stop
        in a minute's last 3 s, and once it reaches the next minute goes on until that one has
        its 150 answers too."""
        wait_until(lambda: time.time() % 60 < 48, 15, "a minute with 12 s left for the load")
        load = LoadGen(self.port, rate=rate, workers=4).start()
        # Per wall-clock minute the load reached: the answers counted when it began.
        minutes = {int(time.time() // 60): 0}

        def enough():
            total = load.total()
            now = int(time.time() // 60)
            minutes.setdefault(now, total)
            # Not in a minute's last 3 s either: the daemon counts an answer in the second it
            # reads the counters (up to 1 s late), so it could put the last ones in the next
            # minute.
            return (total >= seconds_of_requests * rate
                    and total - minutes[now] >= MIN_ANSWERS_PER_MINUTE
                    and time.time() % 60 < 57)

        wait_until(enough, 60, "the load")
        summary = load.stop()
        starts = sorted(minutes.values())
        per_minute = [b - a for a, b in zip(starts, starts[1:] + [summary["requests"]])]
        self.assertGreaterEqual(min(per_minute), MIN_ANSWERS_PER_MINUTE, per_minute)
        self.assertEqual(summary["socket_errors"], 0, summary)
        statuses = {int(k): v for k, v in summary["statuses"].items()}
        self.assertEqual(set(statuses) - {200, 500}, set(), summary)
        return summary["requests"], statuses.get(500, 0)


class SloNumbersTest(SloTestCase):
    def test_status_api_and_metrics_match_the_clients_and_survive_a_restart(self):
        # Every request takes 150ms (slow against 100ms) and a fifth answers 500.
        self.deploy("v1.yaml", "v1", {"FAIL_RATE": "0.2", "LATENCY_MS": "150"}, SLO)
        requests, errors = self.run_load(3)
        self.assertGreater(errors, 0)
        self.assertLess(errors, requests)

        def counted():
            w = window(self.daemon.status("hello"), "error_rate")
            return w and w["total"] == requests and w

        wait_until(counted, 10, "the SLO to count every request")
        status = self.daemon.status("hello")
        self.check_numbers(status, requests, errors)

        # /metrics says the same; the page passes promtool.
        text = self.metrics()
        samples = parse(text)

        def gauge(name, slo, w="1h"):
            found = select(samples, name, app="hello", slo=slo, window=w)
            self.assertEqual(len(found), 1, (name, slo, w))
            return found[0][1]

        self.assertEqual(gauge("slipway_slo_events", "error_rate"), requests)
        self.assertEqual(gauge("slipway_slo_bad_events", "error_rate"), errors)
        self.assertEqual(gauge("slipway_slo_events", "latency"), requests)
        self.assertEqual(gauge("slipway_slo_bad_events", "latency"), requests)
        self.assertAlmostEqual(gauge("slipway_slo_sli_ratio", "error_rate"),
                               1 - errors / requests, places=12)
        self.assertAlmostEqual(gauge("slipway_slo_error_budget_remaining_ratio", "error_rate"),
                               1 - (errors / requests) / 0.01, places=9)
        self.assertAlmostEqual(gauge("slipway_slo_burn_rate", "error_rate", "30d"),
                               (errors / requests) / 0.01, places=9)
        self.assertEqual(gauge("slipway_slo_bad_events", "availability"), 0)
        self.assertEqual(select(samples, "slipway_slo_objective_ratio", app="hello",
                                slo="availability")[0][1], 0.99)
        self.assertEqual(select(samples, "slipway_slo_objective_ratio", app="hello",
                                slo="error_rate")[0][1], 0.99)
        if PROMTOOL:
            res = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

        # The text form shows the block.
        text_status = self.daemon.cli("status", "hello").stdout
        self.assertIn("BUDGET LEFT", text_status)
        self.assertIn("error_rate", text_status)
        self.assertIn("99% of requests without a 5xx answer", text_status)

        # SIGTERM, start again: the minutes were stored; the 1h window still has every request.
        self.assertEqual(self.daemon.stop(), 0)
        self.daemon = self.start_daemon()
        wait_until(lambda: objective(self.daemon.status("hello"), "error_rate"), 30,
                   "the app to serve again with its objectives")
        self.check_numbers(self.daemon.status("hello"), requests, errors)

        more, more_errors = self.run_load(2)
        wait_until(lambda: window(self.daemon.status("hello"), "error_rate")["total"]
                   == requests + more, 10, "the SLO to count the new requests too")
        self.check_numbers(self.daemon.status("hello"), requests + more, errors + more_errors)

    def check_numbers(self, status, requests, errors):
        for name in ("1h", "1d", "30d"):
            w = window(status, "error_rate", name)
            self.assertEqual((w["total"], w["bad"], w["good"]), (requests, errors, requests - errors),
                             name)
            self.assertAlmostEqual(w["sli"], 1 - errors / requests, places=12)
            self.assertAlmostEqual(w["error_budget_remaining"], 1 - (errors / requests) / 0.01,
                                   places=9)
            self.assertAlmostEqual(w["burn_rate"], (errors / requests) / 0.01, places=9)
            latency = window(status, "latency", name)
            self.assertEqual((latency["total"], latency["bad"]), (requests, requests), name)
            self.assertEqual(latency["sli"], 0)
            # Availability counts minutes: every one served, 20% errors are under the 50% bar.
            a = window(status, "availability", name)
            self.assertGreaterEqual(a["total"], 1)
            self.assertEqual(a["bad"], 0)
            self.assertEqual(a["sli"], 1)
        o = objective(status, "error_rate")
        self.assertEqual(o["target"], 0.99)
        self.assertEqual(o["counts"], "requests")
        self.assertEqual(o["burn_rate_1h"], window(status, "error_rate")["burn_rate"])
        self.assertEqual(objective(status, "availability")["counts"], "minutes")
        self.assertEqual(objective(status, "latency")["threshold_ms"], 100)


class BurnRateAlertTest(SloTestCase):
    def test_a_shortened_burn_rate_alert_fires_and_resolves_after_a_fix(self):
        receiver = Receiver()
        self.receivers.append(receiver)
        extra = ("slo:\n  error_rate: 1%\n"
                 "alerts:\n"
                 "  receivers:\n"
                 f"    - {{name: test, url: 'http://127.0.0.1:{receiver.port}/hook'}}\n"
                 "  group_wait: 0s\n"
                 "  group_interval: 1s\n"
                 "  builtin:\n"
                 "    error_rate: false\n"
                 "    error_budget_burn:\n"
                 "      windows:\n"
                 "        - {long: 1m, short: 10s, burn_rate: 14.4, severity: critical}\n")
        # 20% of requests fail: 20x the 1% budget over both windows.
        self.deploy("v1.yaml", "v1", {"FAIL_RATE": "0.2"}, extra)
        self.load = LoadGen(self.port, rate=100).start()
        wait_until(lambda: receiver.bodies("ErrorBudgetBurn"), 60, "the burn-rate notification")
        body = receiver.bodies("ErrorBudgetBurn")[0]
        self.assertEqual(body["status"], "firing")
        alert = body["alerts"][0]
        self.assertEqual(alert["labels"], {"alertname": "ErrorBudgetBurn", "app": "hello",
                                           "severity": "critical", "slo": "error_rate"})
        self.assertIn("alert above 14.4x over 1m and 10s", alert["annotations"]["summary"])
        self.assertRegex(alert["annotations"]["description"],
                         r"^burn rate [\d.]+x over 1m and [\d.]+x over 10s \(alert above 14.4x\)")
        listed = self.daemon.cli("alerts", "hello", "--json")
        firing = [a for a in json.loads(listed.stdout)["alerts"]
                  if a["alertname"] == "ErrorBudgetBurn"]
        self.assertEqual(firing[0]["state"], "firing")
        self.assertGreater(firing[0]["value"], 14.4)

        # The fix: no more 5xx; the 10s window cools down and the alert resolves.
        self.deploy("v2.yaml", "v2", {"FAIL_RATE": "0"}, extra)
        wait_until(lambda: len(receiver.bodies("ErrorBudgetBurn")) >= 2, 60,
                   "the resolved notification")
        bodies = receiver.bodies("ErrorBudgetBurn")
        self.assertEqual(len(bodies), 2, json.dumps(bodies, indent=1))
        self.assertEqual(bodies[1]["status"], "resolved")
        self.assertEqual(bodies[1]["alerts"][0]["fingerprint"], alert["fingerprint"])
        # The 1h numbers still show the budget the bad release burnt.
        w = window(self.daemon.status("hello"), "error_rate")
        self.assertGreater(w["bad"], 0)
        self.assertLess(w["error_budget_remaining"], 0)


if __name__ == "__main__":
    unittest.main()
