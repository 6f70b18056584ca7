"""The foundation's end-to-end story: deploy v1, ship v2 under load with no failed request,
refuse a broken v3 while v2 keeps serving, roll back to v1, survive a daemon restart, and stop
without leaving a process behind. Real daemon, real replicas, real sockets on 127.0.0.1."""

import json
import os
import unittest

from harness import DaemonTestCase, LoadGen, http_get, pids_in_group, proc_status, wait_until


class DeployFlowTest(DaemonTestCase):
    def deploy(self, version, **kw):
        path = self.ws.spec(f"{version}.yaml", version=version, listen_port=self.port, **kw)
        return self.daemon.cli("deploy", "-f", path)

    def serving_versions(self, n=12):
        return {http_get(self.port)[1].split(" ")[2] for _ in range(n)}

    def test_deploy_update_refuse_rollback_restart_stop(self):
        # v1: the first release.
        res = self.deploy("v1")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("release 1 of hello is serving", res.stdout)
        status, body, headers = http_get(self.port)
        self.assertEqual(status, 200)
        self.assertIn("Hello from v1", body)
        self.assertTrue(headers.get("X-Request-ID"), headers)
        # The proxy's access log records that request, under the id the client saw.
        access_log = os.path.join(self.ws.state_dir, "logs", "access.log")

        def logged():
            with open(access_log) as f:
                lines = [json.loads(line) for line in f if line.strip()]
            return [r for r in lines if r["request_id"] == headers["X-Request-ID"]]

        record = wait_until(logged, 10, "the access log line")[0]
        self.assertEqual((record["status"], record["method"], record["path"]), (200, "GET", "/"))
        self.assertEqual(record["release"], 1)

        # Replicas run as nobody, each in its own process group.
        st = self.daemon.status("hello")
        self.assertEqual(st["ready_replicas"], 3, st)
        nobody_uid = "65534"
        for r in st["replicas"]:
            ps = proc_status(r["pid"])
            self.assertEqual(ps["Uid"].split()[0], nobody_uid, ps["Uid"])
            self.assertEqual(ps["NoNewPrivs"], "1")
            self.assertEqual(os.getpgid(r["pid"]), r["pid"])

        # v2 under load: no failed request, and afterwards only v2 answers.
        load = LoadGen(self.port, rate=200).start()
        wait_until(lambda: load.total() > 100, 30, "load to start")
        res = self.deploy("v2")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        after = load.total()
        wait_until(lambda: load.total() > after + 100, 30, "load after the deploy")
        summary = load.stop()
        self.assertGreaterEqual(summary["rate"], 100, summary)
        self.assertEqual(summary["non_2xx"], 0, summary)
        self.assertEqual(summary["socket_errors"], 0, summary)
        self.assertEqual(self.serving_versions(), {"v2"})

        # v3 never gets healthy: the deploy fails naming the health check; v2 keeps serving.
        load = LoadGen(self.port, rate=200).start()
        wait_until(lambda: load.total() > 100, 30, "load to start")
        res = self.deploy("v3", env={"UNHEALTHY": "1"},
                          readiness={"interval": "200ms", "startup_timeout": "3s"})
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn("readiness probe GET /up", res.stderr)
        self.assertIn("HTTP 503", res.stderr)
        after = load.total()
        wait_until(lambda: load.total() > after + 50, 30, "load after the failed deploy")
        summary = load.stop()
        self.assertEqual(summary["non_2xx"], 0, summary)
        self.assertEqual(summary["socket_errors"], 0, summary)
        self.assertEqual(summary["versions"].keys(), {"v2"}, summary)
        st = self.daemon.status("hello")
        self.assertEqual(st["current_release"], 2)
        self.assertEqual({r["release"] for r in st["replicas"]}, {2}, st)

        # Roll back to release 1 as release 4.
        res = self.daemon.cli("rollback", "hello", "--to", "1")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(self.serving_versions(), {"v1"})
        res = self.daemon.cli("releases", "hello", "--json")
        releases = json.loads(res.stdout)
        self.assertEqual([r["number"] for r in releases], [1, 2, 3, 4])
        self.assertEqual([r["outcome"] for r in releases],
                         ["succeeded", "succeeded", "failed", "succeeded"])
        self.assertIn("readiness probe", releases[2]["reason"])
        self.assertEqual(releases[3]["rollback_of"], 1)
        table = self.daemon.cli("releases", "hello").stdout
        self.assertIn("rollback to 1", table)

        # A daemon restart keeps the history and brings release 4 back.
        old_pids = [r["pid"] for r in self.daemon.status("hello")["replicas"]]
        self.assertEqual(self.daemon.stop(), 0)
        for pid in old_pids:
            self.assertEqual(pids_in_group(pid), [], f"group {pid} outlived the daemon")
        self.daemon.start()
        res = self.daemon.cli("releases", "hello", "--json")
        self.assertEqual(len(json.loads(res.stdout)), 4)
        wait_until(lambda: self.daemon.status("hello")["ready_replicas"] == 3, 30,
                   "release 4 to come back after the restart")
        self.assertEqual(self.serving_versions(), {"v1"})

        # stop: nothing of the app stays behind; the listener answers no more.
        pids = [r["pid"] for r in self.daemon.status("hello")["replicas"]]
        res = self.daemon.cli("stop", "hello")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        for pid in pids:
            self.assertEqual(pids_in_group(pid), [], f"process group {pid} still has processes")
        self.assertEqual(self.daemon.status("hello")["replicas"], [])
        with self.assertRaises(OSError):
            http_get(self.port, timeout=2)


if __name__ == "__main__":
    unittest.main()
