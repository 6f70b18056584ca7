"""Canary and blue-green rollouts with the real daemon, real replicas and real traffic: the
traffic split follows the weights, header routing, automatic aborts by the analysis (error
rate, latency), inconclusive analysis without traffic, the progress deadline, and blue-green
preview, promotion and an abort that gives the old set its traffic back at once."""

import collections
import http.client
import json
import time
import unittest

from harness import DaemonTestCase, LoadGen, free_port, http_get, wait_until

CANARY_STEPS = """  type: canary
  steps:
    - weight: 10
    - pause: {}
    - weight: 50
    - pause: {}
    - weight: 100
    - pause: {}
"""


def versions_of(port, n, headers=None):
    """Sends n GET / on one keep-alive connection; counts the versions that answered."""
    seen = collections.Counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for _ in range(n):
            conn.request("GET", "/", headers=headers or {})
            res = conn.getresponse()
            body = res.read().decode(errors="replace")
            seen[body.split(" ")[2] if body.startswith("Hello from ") else str(res.status)] += 1
    finally:
        conn.close()
    return seen


class ProgressiveTestCase(DaemonTestCase):
    def deploy_v1(self, strategy_yaml, replicas=2, extra=""):
        spec = self.ws.spec("v1.yaml", replicas=replicas, listen_port=self.port,
                            strategy_yaml=strategy_yaml, extra=extra)
        res = self.daemon.cli("deploy", "-f", spec)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        return spec

    def deploy_v2(self, strategy_yaml, replicas=2, env=None, extra="", readiness=None):
        spec = self.ws.spec("v2.yaml", version="v2", replicas=replicas, listen_port=self.port,
                            strategy_yaml=strategy_yaml, env=env, extra=extra,
                            readiness=readiness)
        res = self.daemon.cli("deploy", "--detach", "-f", spec)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        return spec

    def rollout(self):
        return self.daemon.status("hello").get("rollout")

    def wait_rollout(self, predicate, timeout, what):
        wait_until(lambda: (r := self.rollout()) is not None and predicate(r), timeout, what)
        return self.rollout()

    def release(self, number):
        res = self.daemon.cli("releases", "hello", "--json")
        return [r for r in json.loads(res.stdout) if r["number"] == number][0]

    def wait_outcome(self, number, timeout):
        wait_until(lambda: self.release(number)["outcome"] != "deploying", timeout,
                   f"release {number} to finish")
        return self.release(number)


class CanaryTest(ProgressiveTestCase):
    def test_split_follows_the_weights_and_the_header(self):
        self.deploy_v1(CANARY_STEPS)
        self.deploy_v2(CANARY_STEPS)
        for weight in (10, 50, 100):
            r = self.wait_rollout(lambda r, w=weight: r["weight"] == w and r["paused"], 60,
                                  f"the canary to pause at weight {weight}")
            self.assertIn("slipway resume", r["pause_reason"])
            seen = versions_of(self.port, 1000)
            share = 100.0 * seen["v2"] / sum(seen.values())
            self.assertLessEqual(abs(share - weight), 5, f"weight {weight}: {seen}")
            self.assertEqual(sum(seen.values()), seen["v1"] + seen["v2"], seen)
            if weight < 100:
                always = versions_of(self.port, 50, {"X-Canary": "always"})
                self.assertEqual(always, {"v2": 50}, "every X-Canary: always request")
                never = versions_of(self.port, 50, {"X-Canary": "never"})
                self.assertEqual(never, {"v1": 50})
            res = self.daemon.cli("resume", "hello")
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(self.wait_outcome(2, 60)["outcome"], "succeeded")
        self.assertEqual(versions_of(self.port, 100), {"v2": 100})
        self.assertEqual(self.daemon.status("hello")["current_release"], 2)
        wait_until(lambda: all(r["release"] == 2 for r in self.daemon.status("hello")["replicas"]),
                   30, "release 1's replicas to stop")

    def test_bad_canary_is_aborted_by_the_error_rate_check(self):
        steps = "  type: canary\n  steps:\n    - weight: 20\n    - analysis: 60s\n"
        self.deploy_v1(steps)
        load = LoadGen(self.port, rate=200).start()
        try:
            self.deploy_v2(steps, env={"FAIL_RATE": "0.3"})
            release = self.wait_outcome(2, 60)
        finally:
            result = load.stop()
        self.assertEqual(release["outcome"], "aborted", release)
        self.assertIn("error_rate", release["reason"])
        self.assertRegex(release["reason"], r"error rate \d+\.\d% > 5\.0%")
        self.assertEqual(self.daemon.status("hello")["current_release"], 1)
        self.assertEqual(versions_of(self.port, 50), {"v1": 50})
        # The proxy retries a canary's 5xx on the stable release for idempotent requests.
        self.assertEqual(result["socket_errors"], 0, result)
        self.assertLess(result["non_2xx"], 0.01 * result["requests"], result)
        analysis = json.loads(self.daemon.cli("status", "hello", "--json").stdout)
        self.assertNotIn("rollout", analysis)

    def test_slow_canary_is_aborted_by_the_latency_check(self):
        steps = "  type: canary\n  steps:\n    - weight: 30\n    - analysis: 60s\n"
        checks = ("analysis:\n  interval: 1s\n  window: 10s\n  checks:\n"
                  "    - metric: error_rate\n      max: 5%\n"
                  "    - metric: latency_p95\n      max: 150ms\n      min_samples: 10\n")
        self.deploy_v1(steps, extra=checks)
        load = LoadGen(self.port, rate=100, workers=8).start()
        try:
            self.deploy_v2(steps, env={"LATENCY_MS": "300"}, extra=checks)
            release = self.wait_outcome(2, 60)
        finally:
            load.stop()
        self.assertEqual(release["outcome"], "aborted", release)
        self.assertIn("latency_p95", release["reason"])
        self.assertIn("> 150", release["reason"])

    def test_crashing_canary_is_aborted(self):
        steps = "  type: canary\n  steps:\n    - weight: 20\n    - analysis: 60s\n"
        self.deploy_v1(steps)
        load = LoadGen(self.port, rate=100).start()
        try:
            self.deploy_v2(steps, env={"CRASH_AFTER": "5"})
            release = self.wait_outcome(2, 60)
        finally:
            result = load.stop()
        self.assertEqual(release["outcome"], "aborted", release)
        self.assertRegex(release["reason"], r"replica hello-r2-\d (lost readiness|is crash-looping)")
        self.assertIn("exit 1", release["reason"])
        self.assertEqual(self.daemon.status("hello")["current_release"], 1)
        self.assertEqual(result["socket_errors"], 0, result)

    def test_canary_without_traffic_is_inconclusive_not_passed(self):
        steps = "  type: canary\n  steps:\n    - weight: 10\n    - analysis: 3s\n"
        extra = "analysis:\n  interval: 500ms\n  inconclusive_limit: 4\n"
        self.deploy_v1(steps, extra=extra)
        self.deploy_v2(steps, extra=extra)
        r = self.wait_rollout(lambda r: r["paused"], 60, "the rollout to pause")
        self.assertIn("inconclusive", r["pause_reason"])
        self.assertIn("min_samples", r["pause_reason"])
        self.assertEqual(r["analysis"]["verdict"], "inconclusive")
        self.assertEqual(self.release(2)["outcome"], "deploying", "never promoted")
        res = self.daemon.cli("abort", "hello")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(self.wait_outcome(2, 30)["outcome"], "aborted")

    def test_progress_deadline_aborts_and_says_so(self):
        steps = ("  type: canary\n  progress_deadline: 3s\n"
                 "  steps:\n    - weight: 10\n    - analysis: 5s\n")
        self.deploy_v1(steps)
        self.deploy_v2(steps, env={"START_DELAY_MS": "30000"},
                       readiness={"interval": "200ms", "startup_timeout": "60s"})
        release = self.wait_outcome(2, 30)
        self.assertEqual(release["outcome"], "aborted")
        self.assertIn("progress_deadline", release["reason"])
        self.assertIn("no progress for 3s", release["reason"])


class BlueGreenTest(ProgressiveTestCase):
    def test_preview_promote_then_abort_restores_blue_at_once(self):
        preview = free_port()
        strategy = (f"  type: blue-green\n  preview_listen: 127.0.0.1:{preview}\n"
                    "  scale_down_delay: 60s\n")
        self.deploy_v1(strategy)
        load = LoadGen(self.port, rate=150).start()
        try:
            self.deploy_v2(strategy)
            r = self.wait_rollout(lambda r: r["phase"] == "preview", 60, "green to be ready")
            self.assertTrue(r["paused"], r)
            self.assertIn("Hello from v2", http_get(preview)[1])
            self.assertEqual(versions_of(self.port, 50), {"v1": 50}, "blue serves until promoted")

            res = self.daemon.cli("promote", "hello")
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
            self.assertEqual(self.rollout()["phase"], "scale_down")
            self.assertEqual(versions_of(self.port, 100), {"v2": 100})
            wait_until(lambda: load.versions.get("v2", 0) > 20, 10, "load to reach green")

            res = self.daemon.cli("abort", "hello")
            t0 = time.monotonic()
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
            wait_until(lambda: "v1" in http_get(self.port)[1], 5, "blue to serve again")
            restored = time.monotonic() - t0
            self.assertEqual(versions_of(self.port, 100), {"v1": 100})
        finally:
            result = load.stop()
        self.assertLess(restored, 1.0, "blue took over within a second of the abort")
        self.assertEqual(result["non_2xx"], 0, result)
        self.assertEqual(result["socket_errors"], 0, result)
        self.assertGreater(result["versions"].get("v2", 0), 0, result)
        self.assertEqual(self.wait_outcome(2, 30)["outcome"], "aborted")
        self.assertEqual(self.daemon.status("hello")["current_release"], 1)

    def test_auto_promote_finishes_after_the_scale_down_delay(self):
        strategy = "  type: blue-green\n  auto_promote: 1s\n  scale_down_delay: 1s\n"
        self.deploy_v1(strategy)
        load = LoadGen(self.port, rate=150).start()
        try:
            self.deploy_v2(strategy)
            self.assertEqual(self.wait_outcome(2, 60)["outcome"], "succeeded")
        finally:
            result = load.stop()
        self.assertEqual(result["non_2xx"], 0, result)
        self.assertEqual(result["socket_errors"], 0, result)
        wait_until(lambda: all(r["release"] == 2 for r in self.daemon.status("hello")["replicas"]),
                   30, "blue's replicas to stop")


if __name__ == "__main__":
    unittest.main()
