"""The daemon is SIGKILLed in the middle of a rolling deploy: its replicas keep running, and the
restarted daemon re-adopts those of the last good release (same pids), marks the interrupted
release failed, stops the replicas that release had started (no orphans), and keeps the
history."""

import json
import os
import signal
import unittest

from harness import DaemonTestCase, http_get, pids_in_group, wait_until


class DaemonCrashTest(DaemonTestCase):
    def test_kill_during_deploy_then_recover(self):
        res = self.daemon.cli("deploy", "-f", self.ws.spec("v1.yaml", replicas=2,
                                                            listen_port=self.port))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        old_pids = [r["pid"] for r in self.daemon.status("hello")["replicas"]]

        # v2 starts slowly; kill the daemon while release 2 is still deploying.
        slow = self.ws.spec("v2.yaml", version="v2", replicas=2, listen_port=self.port,
                            env={"START_DELAY_MS": "20000"},
                            readiness={"interval": "200ms", "startup_timeout": "60s"})
        res = self.daemon.cli("deploy", "--detach", "-f", slow)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        wait_until(lambda: any(r["release"] == 2 and r["pid"] > 0
                               for r in self.daemon.status("hello")["replicas"]),
                   30, "a replica of release 2 to start")
        new_pids = [r["pid"] for r in self.daemon.status("hello")["replicas"]
                    if r["release"] == 2 and r["pid"] > 0]
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait(timeout=30)
        for pid in old_pids + new_pids:
            self.assertNotEqual(pids_in_group(pid), [], f"replica {pid} outlives the daemon")

        self.daemon.start()
        releases = json.loads(self.daemon.cli("releases", "hello", "--json").stdout)
        self.assertEqual([r["outcome"] for r in releases], ["succeeded", "failed"])
        self.assertIn("daemon stopped during this deploy", releases[1]["reason"])
        wait_until(lambda: self.daemon.status("hello")["ready_replicas"] == 2, 30,
                   "release 1 to serve again")
        self.assertIn("Hello from v1", http_get(self.port)[1])
        self.assertEqual(self.daemon.status("hello")["current_release"], 1)
        replicas = self.daemon.status("hello")["replicas"]
        self.assertEqual(sorted(r["pid"] for r in replicas if r["release"] == 1), sorted(old_pids),
                         "release 1's replicas were adopted, not restarted")
        for pid in new_pids:
            wait_until(lambda pid=pid: pids_in_group(pid) == [], 30,
                       f"release 2's replica {pid} to be stopped")
        # The socket the killed daemon left behind was replaced, still private.
        self.assertEqual(os.stat(self.daemon.socket_path).st_mode & 0o777, 0o600)


if __name__ == "__main__":
    unittest.main()
