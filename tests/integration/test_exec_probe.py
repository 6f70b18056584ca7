"""Exec and running probes with the process driver: an exec readiness probe runs as the
replica's user with its environment (PORT included); one that fails keeps the release from
becoming ready and the deploy is refused with the probe's exit code and output; one that hangs
is killed at its timeout; a worker with `proxy.listen: none` and a `running` probe becomes ready
without listening anywhere, and one that exits too early is refused."""

import json
import subprocess
import unittest

from harness import DaemonTestCase, http_get, wait_until


class ExecProbeTest(DaemonTestCase):
    def deploy(self, name, readiness_yaml, version="v1"):
        path = self.ws.spec(f"{name}.yaml", version=version, replicas=2, listen_port=self.port)
        with open(path) as f:
            text = f.read()
        # Replace the harness's http readiness block with ours.
        start = text.index("readiness:\n")
        end = text.index("stop:\n")
        text = text[:start] + readiness_yaml + text[end:]
        with open(path, "w") as f:
            f.write(text)
        return self.daemon.cli("deploy", "-f", path)

    def test_passing_exec_probe_deploys_and_failing_one_is_refused(self):
        # A shell string: runs through /bin/sh -c as nobody, with the replica's PORT.
        res = self.deploy("v1", "readiness:\n  type: exec\n"
                          f"  command: '[ \"$(id -u)\" = 65534 ] && exec {self.ws.hello} probe'\n"
                          "  interval: 200ms\n  startup_timeout: 10s\n")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("release 1 of hello is serving", res.stdout)
        self.assertEqual(http_get(self.port)[0], 200)

        # A list: the program and its arguments as is. /nope answers 404: exit 1 and its output.
        res = self.deploy("v2", "readiness:\n  type: exec\n"
                          f"  command: [\"{self.ws.hello}\", \"probe\", \"/nope\"]\n"
                          "  interval: 200ms\n  startup_timeout: 2s\n", version="v2")
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn(f"readiness probe exec {self.ws.hello} probe /nope: "
                      "exit 1: probe: GET /nope: HTTP 404", res.stderr)
        st = self.daemon.status("hello")
        self.assertEqual(st["current_release"], 1)
        self.assertIn("Hello from v1", http_get(self.port)[1])

    def test_hanging_exec_probe_is_killed_at_its_timeout(self):
        marker = "31.4159"  # a sleep nobody else runs
        res = self.deploy("v1", "readiness:\n  type: exec\n"
                          f"  command: [\"/bin/sleep\", \"{marker}\"]\n"
                          "  interval: 200ms\n  timeout: 300ms\n  startup_timeout: 2s\n")
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn(f"readiness probe exec /bin/sleep {marker}: timeout after 300ms (killed)",
                      res.stderr)

        def sleepers():
            out = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True,
                                 text=True).stdout
            return out.split()

        wait_until(lambda: not sleepers(), 5, "no probe command left running")

    def write_worker(self, name, command, args, running_for):
        text = (f"app: worker\ncommand: {command}\nargs: {json.dumps(args)}\nreplicas: 2\n"
                "user: nobody\n"
                f"readiness:\n  type: running\n  for: {running_for}\n  startup_timeout: 5s\n"
                "stop:\n  grace_period: 2s\n"
                "proxy:\n  listen: none\n")
        return self.ws.write_spec(name, text)

    def test_worker_with_running_probe_needs_no_port(self):
        res = self.daemon.cli("deploy", "-f", self.write_worker("w1.yaml", "/bin/sleep",
                                                                 ["600"], "1s"))
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        st = self.daemon.status("worker")
        self.assertEqual(st["ready_replicas"], 2, st)

        # One that exits after half a second never runs 1s: refused (crash loop or budget).
        res = self.daemon.cli("deploy", "-f", self.write_worker(
            "w2.yaml", "/bin/sh", ["-c", "sleep 0.5; exit 3"], "1s"))
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn("exit 3", res.stdout)  # the replica.exited events
        self.assertIn("readiness probe running for 1s: ", res.stderr)
        st = self.daemon.status("worker")
        self.assertEqual(st["current_release"], 1)
        self.assertEqual(st["ready_replicas"], 2, st)


if __name__ == "__main__":
    unittest.main()
