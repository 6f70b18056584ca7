"""The daemon is SIGKILLed while 3 containers serve: the containers keep running, and the
restarted daemon re-adopts them (the same container IDs, none created or removed) and serves
through them again; their output keeps reaching the replica logs after the adoption."""

import json
import os
import signal
import unittest

from docker_harness import DockerTestCase
from harness import Daemon, LoadGen, Workspace, free_port, http_get, stop_daemon, wait_until
from test_docker_deploy import docker_spec, slipway_containers


class DockerDaemonCrashTest(DockerTestCase):
    @classmethod
    def set_up_images(cls):
        cls.image = cls.engine.build_hello("hello:v1", "v1")

    def test_kill_9_then_containers_are_adopted_not_recreated(self):
        res = self.daemon.cli("deploy", "-f", docker_spec(self.ws, "v1.yaml", self.image,
                                                          self.port, "v1"))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        before = {r["name"]: r["container"] for r in self.daemon.status("hello")["replicas"]}
        self.assertEqual(len(before), 3)
        load = LoadGen(self.port, rate=100, workers=4).start()
        wait_until(lambda: load.total() > 50, 30, "load to start")

        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait(timeout=30)
        running = {c["Id"] for c in slipway_containers(self.engine)}
        self.assertEqual(running, set(before.values()), "the containers outlive the daemon")

        self.daemon.start()
        wait_until(lambda: self.daemon.status("hello")["ready_replicas"] == 3, 30,
                   "the adopted replicas to serve")
        after = {r["name"]: r["container"] for r in self.daemon.status("hello")["replicas"]}
        self.assertEqual(after, before, "the same containers, adopted, not recreated")
        all_containers = {c["Id"] for c in self.engine.containers()}
        self.assertEqual(all_containers, set(before.values()), "no container was created")
        self.assertEqual(self.daemon.log().count("still runs; adopted"), 3)

        # Traffic resumes through the restarted proxy.
        resumed = load.total()
        wait_until(lambda: load.total() > resumed + 100, 30, "traffic after the restart")
        summary = load.stop()
        self.assertGreater(summary["statuses"].get(200, 0), 150, summary)
        self.assertIn("Hello from v1", http_get(self.port)[1])
        # Requests after the restart all succeed.
        for _ in range(20):
            self.assertEqual(http_get(self.port)[0], 200)

        # Supervision after the adoption: a container that dies is restarted (same container).
        victim = before["hello-r1-0"]
        pid = self.engine.inspect(victim)["State"]["Pid"]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: any(r["name"] == "hello-r1-0" and r["restarts"] == 1
                               and r["state"] == "ready"
                               for r in self.daemon.status("hello")["replicas"]), 30,
                   "the killed container to be restarted")
        self.assertNotEqual(self.engine.inspect(victim)["State"]["Pid"], pid)
        self.assertEqual({c["Id"] for c in slipway_containers(self.engine)},
                         set(before.values()))

        # The logs resumed after the last line written before the crash: no line twice, and the
        # restarted container's new output is there.
        def listening_lines(name):
            with open(os.path.join(self.ws.state_dir, "logs", "hello", name + ".log")) as f:
                return [json.loads(line)["message"] for line in f if "listening" in line]
        wait_until(lambda: len(listening_lines("hello-r1-0")) == 2, 15,
                   "the restarted container's output in its log")
        for name in ("hello-r1-1", "hello-r1-2"):
            self.assertEqual(len(listening_lines(name)), 1, listening_lines(name))


if __name__ == "__main__":
    unittest.main()
