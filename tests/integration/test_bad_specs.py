"""Every malformed spec in the corpus (tests/spec/bad) gets its own FILE:LINE:COL error from
`slipway validate` and `slipway deploy`, exit code 2, and changes nothing in the daemon."""

import glob
import json
import os
import unittest

from harness import SPEC_CORPUS, Daemon, Workspace


def expectation(path):
    with open(path) as f:
        first = f.readline()
    prefix = "# expect: "
    assert first.startswith(prefix), f"{path}: first line must be '# expect: L:C: message'"
    return first[len(prefix):].rstrip("\n")


class BadSpecTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = sorted(glob.glob(os.path.join(SPEC_CORPUS, "*.yaml")))
        cls.ws = Workspace()
        cls.daemon = Daemon(cls.ws).start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.ws.cleanup()

    def test_corpus_is_large_enough(self):
        self.assertGreaterEqual(len(self.files), 20)

    def test_validate_reports_file_line_col(self):
        for path in self.files:
            with self.subTest(spec=os.path.basename(path)):
                res = self.daemon.cli("validate", path)
                self.assertEqual(res.returncode, 2, res.stderr)
                self.assertEqual(res.stderr.splitlines(), [f"{path}:{expectation(path)}"])

    def test_deploy_refuses_and_changes_nothing(self):
        before = self.daemon.cli("status", "--json").stdout
        for path in self.files:
            with self.subTest(spec=os.path.basename(path)):
                res = self.daemon.cli("deploy", "-f", path)
                self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
                self.assertIn(f"{path}:{expectation(path)}", res.stderr.splitlines())
                self.assertIn("nothing was deployed", res.stderr)
        after = self.daemon.cli("status", "--json").stdout
        self.assertEqual(json.loads(before), [])
        self.assertEqual(json.loads(after), [])

    def test_several_problems_each_reported(self):
        path = self.ws.write_spec("many.yaml",
                                  "app: Bad_Name\ncommand: ./x\nreplicas: 0\nreplcas: 2\n")
        res = self.daemon.cli("validate", path)
        self.assertEqual(res.returncode, 2)
        lines = res.stderr.splitlines()
        self.assertEqual(len(lines), 3, lines)
        self.assertTrue(lines[0].startswith(f"{path}:1:"), lines)
        self.assertTrue(lines[1].startswith(f"{path}:3:"), lines)
        self.assertIn('did you mean "replicas"', lines[2])


if __name__ == "__main__":
    unittest.main()
