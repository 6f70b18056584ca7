"""`kill -9` of the daemon in the middle of a canary rollout (in a pause, in an analysis step,
while promoting): the replicas keep running, the restarted daemon re-adopts them (same pids),
restores the traffic split and continues the rollout to its end. The load generator sees
errors only while no daemon (and so no proxy) runs."""

import json
import signal
import time
import unittest

from harness import DaemonTestCase, LoadGen, http_get, wait_until
from test_progressive import ProgressiveTestCase, versions_of


class RolloutCrashTest(ProgressiveTestCase):
    def kill_and_restart(self, load):
        """SIGKILLs the daemon, starts it again; returns (downtime seconds, pids before)."""
        before = {r["name"]: r["pid"] for r in self.daemon.status("hello")["replicas"]
                  if r["pid"] > 0}
        t0 = time.monotonic()
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait(timeout=30)
        for name, pid in before.items():
            self.assertIn(pid, self.ws.replica_pids(), f"{name} outlives the daemon")
        self.daemon.start()
        wait_until(lambda: "Hello from" in http_get(self.port)[1], 30, "the proxy to answer")
        t1 = time.monotonic()
        # Errors are allowed only while no proxy ran (plus the request in flight at the kill).
        late = [t for t in load.error_times if t > t1 + 1.0]
        self.assertEqual(late, [], "errors after the restarted daemon served again")
        after = {r["name"]: r["pid"] for r in self.daemon.status("hello")["replicas"]}
        for name, pid in before.items():
            self.assertEqual(after.get(name), pid, f"{name} was adopted, not restarted")
        return t1 - t0

    def finish(self, load):
        outcome = self.wait_outcome(2, 90)["outcome"]
        result = load.stop()
        self.assertEqual(outcome, "succeeded")
        self.assertEqual(result["non_2xx"], 0, f"no 5xx after the restart: {result}")
        self.assertEqual(versions_of(self.port, 50), {"v2": 50})
        wait_until(lambda: all(r["release"] == 2 for r in self.daemon.status("hello")["replicas"]),
                   30, "release 1's replicas to stop")
        wait_until(lambda: len(self.ws.replica_pids()) == 2, 30, "no process left behind")
        releases = json.loads(self.daemon.cli("releases", "hello", "--json").stdout)
        self.assertEqual([r["number"] for r in releases], [1, 2], "no release lost or added")
        return result

    def test_kill_in_a_manual_pause(self):
        steps = "  type: canary\n  steps:\n    - weight: 30\n    - pause: {}\n"
        self.deploy_v1(steps)
        load = LoadGen(self.port, rate=100).start()
        self.deploy_v2(steps)
        self.wait_rollout(lambda r: r["paused"] and r["weight"] == 30, 60, "the pause")
        downtime = self.kill_and_restart(load)
        r = self.rollout()
        self.assertTrue(r["paused"], r)
        self.assertEqual(r["weight"], 30)
        seen = versions_of(self.port, 400)
        self.assertLessEqual(abs(100.0 * seen["v2"] / 400 - 30), 8, seen)
        res = self.daemon.cli("resume", "hello")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        result = self.finish(load)
        print(f"\nmid-pause: daemon down {downtime:.2f} s; load {result}")

    def test_kill_in_an_analysis_step(self):
        steps = "  type: canary\n  steps:\n    - weight: 20\n    - analysis: 8s\n"
        self.deploy_v1(steps)
        load = LoadGen(self.port, rate=100).start()
        self.deploy_v2(steps)
        self.wait_rollout(lambda r: r.get("step_text", "").startswith("analysis")
                          and r["weight"] == 20, 60, "the analysis step")
        downtime = self.kill_and_restart(load)
        r = self.rollout()
        self.assertEqual(r["weight"], 20)
        self.assertEqual(r["step"], 2)
        result = self.finish(load)
        print(f"\nmid-analysis: daemon down {downtime:.2f} s; load {result}")

    def test_kill_while_promoting(self):
        # The second canary replica starts slowly, so the promotion takes a few seconds.
        steps = "  type: canary\n  steps:\n    - weight: 50\n"
        self.deploy_v1(steps)
        load = LoadGen(self.port, rate=100).start()
        self.deploy_v2(steps, env={"START_DELAY_MS": "4000"},
                       readiness={"interval": "200ms", "startup_timeout": "60s"})
        self.wait_rollout(lambda r: r["phase"] == "promoting", 60, "the promotion")
        downtime = self.kill_and_restart(load)
        result = self.finish(load)
        print(f"\nmid-promotion: daemon down {downtime:.2f} s; load {result}")


if __name__ == "__main__":
    unittest.main()
