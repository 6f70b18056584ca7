"""Operator control of a rollout through the CLI: pause and resume, promote (one step and
--full), `status --watch`, `deploy` that stops following at a pause, `rollback` during a
rollout (an abort), the sticky cookie, and feature flags changed at run time."""

import http.client
import json
import os
import subprocess
import unittest

from harness import SLIPWAY, http_get, wait_until
from test_progressive import ProgressiveTestCase, versions_of

STEPS = """  type: canary
  sticky_cookie: release
  steps:
    - weight: 50
    - pause: 1h
    - analysis: 2s
    - pause: {}
"""


class RolloutControlTest(ProgressiveTestCase):
    def test_pause_resume_promote_and_watch(self):
        self.deploy_v1(STEPS)
        self.deploy_v2(STEPS)
        r = self.wait_rollout(lambda r: r.get("step_text") == "pause 1h", 60, "the timed pause")
        self.assertGreater(r["time_left_ms"], 3_500_000)

        res = self.daemon.cli("pause", "hello")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("paused by root", self.rollout()["pause_reason"])
        res = self.daemon.cli("pause", "hello")
        self.assertEqual(res.returncode, 1, "pausing twice is refused")
        self.assertIn("already paused", res.stderr)
        res = self.daemon.cli("resume", "hello")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertFalse(self.rollout()["paused"])
        self.assertEqual(self.rollout()["step_text"], "pause 1h", "resume keeps the timed step")

        # promote skips the current step: the 1 h pause.
        res = self.daemon.cli("promote", "hello")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        # The analysis step needs traffic to pass, then the manual pause holds.
        watcher = subprocess.Popen([SLIPWAY, "--state-dir", self.ws.state_dir, "status", "hello",
                                    "--watch"], stdout=subprocess.PIPE, text=True)
        wait_until(lambda: versions_of(self.port, 40) and self.rollout()["paused"], 60,
                   "the analysis to pass and the manual pause to hold")
        self.assertIn("step 4/4", self.daemon.cli("status", "hello").stdout)
        res = self.daemon.cli("promote", "hello", "--full")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(self.wait_outcome(2, 60)["outcome"], "succeeded")
        out, _ = watcher.communicate(timeout=30)
        self.assertEqual(watcher.returncode, 0)
        self.assertIn("rollout: release 2 canary steps", out)
        self.assertIn("analysis: pass", out)
        self.assertRegex(out, r"release 2\s+canary\s+[\d.]+ req/s")
        self.assertNotIn("rollout:", out.split("--\n")[-2], "the last frame has no rollout")

        res = self.daemon.cli("promote", "hello")
        self.assertEqual(res.returncode, 1)
        self.assertIn("no canary or blue-green rollout", res.stderr)

    def test_deploy_stops_following_at_a_pause_and_rollback_aborts(self):
        self.deploy_v1(STEPS)
        spec = self.ws.spec("v2.yaml", version="v2", replicas=2, listen_port=self.port,
                            strategy_yaml="  type: canary\n  steps:\n    - weight: 20\n"
                                          "    - pause: {}\n")
        res = self.daemon.cli("deploy", "-f", spec, timeout=60)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("PAUSED: release 2 of hello at 20% of the traffic", res.stdout)
        self.assertIn("slipway promote hello", res.stdout)

        res = self.daemon.cli("rollback", "hello", "--detach")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        release = self.wait_outcome(2, 30)
        self.assertEqual(release["outcome"], "aborted")
        self.assertIn("rolled back", release["reason"])
        self.assertEqual(versions_of(self.port, 50), {"v1": 50})

    def test_sticky_cookie_keeps_a_client_on_its_release(self):
        self.deploy_v1(STEPS)
        self.deploy_v2(STEPS)
        self.wait_rollout(lambda r: r["weight"] == 50, 60, "weight 50")
        pinned = {}
        for _ in range(20):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/")
            res = conn.getresponse()
            body = res.read().decode()
            cookie = res.getheader("Set-Cookie", "")
            conn.close()
            self.assertRegex(cookie, r"^release=[12]; Path=/; HttpOnly; SameSite=Lax$")
            version = body.split(" ")[2]
            self.assertEqual(cookie.split(";")[0], f"release={version[1:]}")
            pinned[cookie.split(";")[0]] = version
        self.assertEqual(set(pinned.values()), {"v1", "v2"}, "both releases got new clients")
        for cookie, version in pinned.items():
            seen = versions_of(self.port, 30, {"Cookie": cookie})
            self.assertEqual(seen, {version: 30}, cookie)


class FlagsTest(ProgressiveTestCase):
    def test_flag_set_reaches_replicas_without_a_restart(self):
        extra = "flags:\n  new_checkout: false\n  beta_banner: 25%\n"
        self.deploy_v1("  type: rolling\n", extra=extra)
        pids = sorted(r["pid"] for r in self.daemon.status("hello")["replicas"])
        self.assertEqual(json.loads(http_get(self.port, "/flags")[1]),
                         {"new_checkout": False, "beta_banner": 25})

        res = self.daemon.cli("flag", "set", "hello", "new_checkout", "true")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        res = self.daemon.cli("flag", "set", "hello", "beta_banner", "60%")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        for _ in range(4):  # every replica reads the same file
            self.assertEqual(json.loads(http_get(self.port, "/flags")[1]),
                             {"new_checkout": True, "beta_banner": 60})
        self.assertEqual(sorted(r["pid"] for r in self.daemon.status("hello")["replicas"]),
                         pids, "no replica restarted")
        listing = json.loads(self.daemon.cli("flag", "list", "hello", "--json").stdout)
        by_name = {f["name"]: f for f in listing}
        self.assertEqual(by_name["beta_banner"]["value"], "60%")
        self.assertIn("root", by_name["new_checkout"]["updated_by"])

        bad = self.daemon.cli("flag", "set", "hello", "new_checkout", "maybe")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("expected true, false or a percentage", bad.stderr)
        unknown = self.daemon.cli("flag", "set", "hello", "dark_mode", "true")
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("declares no flag named dark_mode", unknown.stderr)
        self.assertIn("beta_banner, new_checkout", unknown.stderr)

        # A new release keeps the values set at run time, in its file and in its environment.
        self.ws.spec("v1.yaml", version="v2", replicas=2, listen_port=self.port, extra=extra)
        res = self.daemon.cli("deploy", "-f", os.path.join(self.ws.dir, "v1.yaml"))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(json.loads(http_get(self.port, "/flags")[1]),
                         {"new_checkout": True, "beta_banner": 60})
        pid = self.daemon.status("hello")["replicas"][0]["pid"]
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\0")
        self.assertIn(b"SLIPWAY_FLAG_NEW_CHECKOUT=true", env)
        self.assertIn(b"SLIPWAY_FLAG_BETA_BANNER=60%", env)
        res = subprocess.run(["curl", "-s", "--unix-socket", self.daemon.socket_path,
                              "http://slipway/v1/apps/hello/events"], capture_output=True,
                             text=True, check=True)
        changes = [e["message"] for e in json.loads(res.stdout)["events"]
                   if e["kind"] == "flag.changed"]
        self.assertEqual(len(changes), 2, changes)
        self.assertIn("flag beta_banner set to 60% (was 25%)", changes[1])


if __name__ == "__main__":
    unittest.main()
