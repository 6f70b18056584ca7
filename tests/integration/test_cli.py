"""The CLI's contract: help on every command, clear errors and exit codes for a missing daemon,
bad flags and unknown apps."""

import os
import subprocess
import tempfile
import unittest

from harness import SLIPWAY, Daemon, Workspace

COMMANDS = ["deploy", "status", "releases", "rollback", "stop", "logs", "validate", "daemon",
            "version", "report"]


def run(*args, state_dir=None):
    cmd = [SLIPWAY] + (["--state-dir", state_dir] if state_dir else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


class CliTest(unittest.TestCase):
    def test_help_on_every_command(self):
        top = run("--help")
        self.assertEqual(top.returncode, 0)
        for cmd in COMMANDS:
            self.assertIn(cmd, top.stdout)
            with self.subTest(command=cmd):
                res = run(cmd, "--help")
                self.assertEqual(res.returncode, 0, res.stderr)
                self.assertIn(f"Usage: slipway {cmd}", res.stdout)

    def test_no_daemon_is_a_clear_error(self):
        with tempfile.TemporaryDirectory() as d:
            for args in (["status"], ["releases", "hello"], ["stop", "hello"],
                         ["rollback", "hello"], ["report"]):
                with self.subTest(args=args):
                    res = run(*args, state_dir=d)
                    self.assertEqual(res.returncode, 3, res.stderr)
                    self.assertIn("daemon is not running", res.stderr)

    def test_bad_flags_and_unknown_commands(self):
        self.assertEqual(run("deploy", "--no-such-flag").returncode, 2)
        self.assertEqual(run("frobnicate").returncode, 2)
        self.assertEqual(run("rollback", "hello", "--to", "zero").returncode, 2)
        self.assertEqual(run().returncode, 2)

    def test_unknown_app_and_missing_spec(self):
        ws = Workspace()
        daemon = Daemon(ws).start()
        try:
            res = daemon.cli("releases", "nope")
            self.assertEqual(res.returncode, 1)
            self.assertIn("no app named nope", res.stderr)
            res = daemon.cli("deploy", "-f", os.path.join(ws.dir, "missing.yaml"))
            self.assertEqual(res.returncode, 2)
            self.assertIn("missing.yaml:1:1: cannot read", res.stderr)
            res = daemon.cli("status")
            self.assertEqual(res.returncode, 0)
            self.assertIn("no apps yet", res.stdout)
            # A second daemon on the same state dir is refused.
            second = run("daemon", state_dir=ws.state_dir)
            self.assertEqual(second.returncode, 1)
            self.assertIn("another slipway daemon", second.stderr)
        finally:
            daemon.stop()
            ws.cleanup()


if __name__ == "__main__":
    unittest.main()
