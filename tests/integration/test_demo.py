"""The README's demo command runs start to end (on the already built debug tree) and shows what
it promises: v2 shipped under load with no failed request, v3 refused, a failing canary v4
aborted by its analysis with no failed request, rollback to v1."""

import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class DemoTest(unittest.TestCase):
    def test_demo_runs_and_tells_its_story(self):
        with tempfile.TemporaryDirectory(prefix="slipway-demo-test-") as d:
            os.chmod(d, 0o755)  # replicas run as nobody and must reach the demo's files
            env = dict(os.environ, SLIPWAY_DEMO_PRESET="debug",
                       SLIPWAY_DEMO_DIR=os.path.join(d, "demo"))
            res = subprocess.run([os.path.join(ROOT, "scripts", "demo")], env=env, cwd=ROOT,
                                 capture_output=True, text=True, timeout=300)
        out = res.stdout + res.stderr
        self.assertEqual(res.returncode, 0, out[-4000:])
        self.assertEqual(out.count("0 non-2xx, 0 socket errors"), 3, out[-4000:])
        self.assertIn("OK: release 2 of hello is serving.", out)
        self.assertIn("FAILED: release 3 of hello failed", out)
        self.assertIn("ABORTED: release 4 of hello aborted: analysis failed", out)
        self.assertIn("error_rate: error rate", out)
        self.assertIn("Rolling hello back to release 1 as release 5", out)
        self.assertIn("Hello from v1", out.split("7. Roll back")[1])
        self.assertIn("Demo done.", out)
        if shutil.which("dockerd"):
            tail = out.split("10. The same app as containers")[1]
            self.assertIn("OK: release 1 of hello-docker is serving.", tail)
            self.assertIn("Hello from v1-container", tail)
            self.assertIn("User 65534:65534  SecurityOpt ['no-new-privileges']  CapDrop ['ALL']  "
                          "ReadonlyRootfs True", tail)


if __name__ == "__main__":
    unittest.main()
