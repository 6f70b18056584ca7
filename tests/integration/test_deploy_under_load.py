"""Ten consecutive deploys while a keep-alive load generator runs at 200 requests/s: every
request is answered 2xx, no socket error, and every request sent is accounted for."""

import unittest

from harness import DaemonTestCase, LoadGen, http_get, wait_until


class DeployUnderLoadTest(DaemonTestCase):
    def test_ten_deploys_without_a_failed_request(self):
        def deploy(version):
            path = self.ws.spec(f"{version}.yaml", version=version, replicas=3,
                                listen_port=self.port)
            res = self.daemon.cli("deploy", "-f", path)
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

        deploy("v0")
        load = LoadGen(self.port, rate=200, workers=8).start()
        wait_until(lambda: load.total() > 100, 30, "load to start")
        for i in range(1, 11):
            deploy(f"v{i}")
        after = load.total()
        wait_until(lambda: load.total() > after + 100, 30, "load after the last deploy")
        summary = load.stop()
        print(f"10 deploys under load: {summary['requests']} requests at {summary['rate']:.0f}/s, "
              f"{summary['non_2xx']} non-2xx, {summary['socket_errors']} socket errors")
        self.assertGreaterEqual(summary["rate"], 150, summary)
        self.assertEqual(summary["non_2xx"], 0, summary)
        self.assertEqual(summary["socket_errors"], 0, summary)
        self.assertEqual(summary["attempts"], summary["requests"], summary)
        self.assertGreaterEqual(len(summary["versions"]), 10, summary)
        self.assertIn("Hello from v10", http_get(self.port)[1])


if __name__ == "__main__":
    unittest.main()
