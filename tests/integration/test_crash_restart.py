"""kill -9 of a replica: the runtime restarts it with back-off, and GETs through the proxy
meanwhile see no error (the dead replica leaves the pool; a failed connect is retried)."""

import os
import signal
import unittest

from harness import DaemonTestCase, LoadGen, wait_until


class CrashRestartTest(DaemonTestCase):
    def test_killed_replica_restarts_without_client_errors(self):
        path = self.ws.spec("v1.yaml", replicas=2, listen_port=self.port)
        res = self.daemon.cli("deploy", "-f", path)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        victim = self.daemon.status("hello")["replicas"][0]

        load = LoadGen(self.port, rate=150).start()
        wait_until(lambda: load.total() > 50, 30, "load to start")
        os.kill(victim["pid"], signal.SIGKILL)

        def restarted():
            for r in self.daemon.status("hello")["replicas"]:
                if r["name"] == victim["name"]:
                    return r["restarts"] >= 1 and r["pid"] != victim["pid"] and r["state"] == "ready"
            return False

        wait_until(restarted, 30, "the killed replica to be restarted and ready")
        after = load.total()
        wait_until(lambda: load.total() > after + 50, 30, "load after the restart")
        summary = load.stop()
        self.assertEqual(summary["non_2xx"], 0, summary)
        self.assertEqual(summary["socket_errors"], 0, summary)
        events = self.daemon.cli("status", "hello").stdout
        self.assertIn(victim["name"], events)
        log = self.daemon.log()
        self.assertIn("killed by SIGKILL", log)
        self.assertIn("restarting in", log)
        # The replica's own output was captured and is readable through the CLI.
        res = self.daemon.cli("logs", "hello", "--replica", "1")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("listening on 127.0.0.1", res.stdout)

    def test_failing_liveness_restarts_the_replica(self):
        # Readiness (/up) passes; liveness probes GET /, which FAIL_RATE=1 answers with 500.
        path = self.ws.spec("live.yaml", replicas=1, listen_port=self.port,
                            env={"FAIL_RATE": "1"},
                            extra="liveness:\n  type: http\n  path: /\n  interval: 200ms\n"
                                  "  failure_threshold: 2\n")
        res = self.daemon.cli("deploy", "-f", path)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        first_pid = self.daemon.status("hello")["replicas"][0]["pid"]

        def restarted():
            r = self.daemon.status("hello")["replicas"][0]
            return r["restarts"] >= 1 and r["pid"] not in (0, first_pid)

        wait_until(restarted, 30, "liveness failures to restart the replica")
        self.assertIn("liveness probe failed 2 times: HTTP 500", self.daemon.log())


if __name__ == "__main__":
    unittest.main()
