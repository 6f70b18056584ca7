"""A slow starter deploys within a generous start-up budget and fails clearly within a short
one, leaving the serving release alone."""

import json
import unittest

from harness import DaemonTestCase, http_get


class StartupBudgetTest(DaemonTestCase):
    def deploy(self, name, budget):
        path = self.ws.spec(name, version=name.split(".")[0], replicas=2, listen_port=self.port,
                            env={"START_DELAY_MS": "3000"},
                            readiness={"interval": "200ms", "startup_timeout": budget})
        return self.daemon.cli("deploy", "-f", path)

    def test_slow_start_within_and_beyond_budget(self):
        res = self.deploy("slow10.yaml", "10s")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("Hello from slow10", http_get(self.port)[1])

        res = self.deploy("slow1.yaml", "1s")
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn("did not become ready within its start-up budget of 1s", res.stderr)
        self.assertIn("Hello from slow10", http_get(self.port)[1])
        releases = json.loads(self.daemon.cli("releases", "hello", "--json").stdout)
        self.assertEqual([r["outcome"] for r in releases], ["succeeded", "failed"])
        self.assertEqual(self.daemon.status("hello")["current_release"], 1)


if __name__ == "__main__":
    unittest.main()
