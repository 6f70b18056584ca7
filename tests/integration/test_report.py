"""`slipway report`: the delivery KPIs over a history the test makes with the real daemon (two
successes, a failed health check, a rollback), checked exactly against the release records
themselves; the same after a daemon restart (the report reads the history, not counters)."""

import datetime
import json
import unittest

from harness import DaemonTestCase

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def ms(timestamp):
    """Milliseconds since the epoch of the store's "2026-11-24T18:01:07.123Z", exactly."""
    dt = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return (dt - EPOCH) // datetime.timedelta(milliseconds=1)


class ReportTest(DaemonTestCase):
    def deploy(self, version, **kw):
        path = self.ws.spec(f"{version}.yaml", version=version, listen_port=self.port,
                            replicas=2, **kw)
        return self.daemon.cli("deploy", "-f", path)

    def report(self, *args):
        res = self.daemon.cli("report", *args, "--json")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        return json.loads(res.stdout)

    def test_bad_since_and_unknown_app(self):
        for since in ("30x", "0", "", "-1d", "5 d", "1y"):
            res = self.daemon.cli("report", f"--since={since}")
            self.assertEqual(res.returncode, 2, (since, res.stdout, res.stderr))
            self.assertIn("--since", res.stderr)
            if since:  # CLI11 itself refuses an empty value
                self.assertIn("is not a duration", res.stderr)
        res = self.daemon.cli("report", "--since", "5000d")  # the daemon's limit: 3650d
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertIn("at most 3650d", res.stderr)
        res = self.daemon.cli("report", "nope")
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn("no app named nope", res.stderr)
        # No app at all: an empty report, nothing failed.
        r = self.report()
        self.assertIsNone(r["app"])
        self.assertEqual(r["apps"], [])
        self.assertEqual(r["releases"]["deploys"], 0)
        self.assertIsNone(r["kpis"]["deploy_success_rate"]["value"])
        self.assertEqual(r["kpis"]["deploy_success_rate"]["status"], "n/a")
        self.assertEqual(r["status"], "pass")

    def test_kpis_of_successes_a_failure_and_a_rollback(self):
        for version in ("v1", "v2"):
            res = self.deploy(version)
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        res = self.deploy("v3", env={"UNHEALTHY": "1"},
                          readiness={"interval": "200ms", "startup_timeout": "3s"})
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        res = self.daemon.cli("rollback", "hello", "--to", "1")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

        res = self.daemon.cli("releases", "hello", "--json")
        rel = {r["number"]: r for r in json.loads(res.stdout)}
        self.assertEqual([rel[n]["outcome"] for n in (1, 2, 3, 4)],
                         ["succeeded", "succeeded", "failed", "succeeded"])
        self.assertEqual(rel[4]["rollback_of"], 1)
        created = {n: ms(r["created_at"]) for n, r in rel.items()}
        finished = {n: ms(r["finished_at"]) for n, r in rel.items()}

        r = self.report("hello")
        self.assertEqual(r["app"], "hello")
        self.assertEqual(r["apps"], ["hello"])
        self.assertEqual(r["window"]["length"], "30d")
        self.assertEqual(r["window"]["days"], 30)
        self.assertEqual(ms(r["window"]["until"]) - ms(r["window"]["since"]), 30 * 86_400_000)
        self.assertEqual(r["releases"], {"deploys": 4, "succeeded": 3, "failed": 1, "aborted": 0,
                                         "rollbacks": 1, "in_progress": []})
        k = r["kpis"]

        self.assertEqual(k["deployment_frequency"]["value"], 3 / 30)
        self.assertEqual(k["deployment_frequency"]["per_week"], 3 * 7 / 30)
        self.assertEqual(k["deployment_frequency"]["succeeded"], 3)

        # Lead time: created -> serving of the changes 1 and 2 (nearest-rank p50 and p90).
        leads = sorted(finished[n] - created[n] for n in (1, 2))
        self.assertEqual(k["lead_time"]["samples"], 2)
        self.assertEqual(k["lead_time"]["p50_ms"], leads[0])
        self.assertEqual(k["lead_time"]["p90_ms"], leads[1])
        self.assertEqual(k["lead_time"]["value"], leads[0])

        success = k["deploy_success_rate"]
        self.assertEqual((success["value"], success["succeeded"], success["deploys"]),
                         (0.75, 3, 4))
        self.assertEqual(success["target"], {"op": ">", "value": 0.95})
        self.assertEqual(success["status"], "fail")

        # Release 3 never served (its replicas never got ready): a failed deploy, not a failed
        # change. Release 2 served until the rollback to 1 replaced it: a failed change.
        cfr = k["change_failure_rate"]
        self.assertEqual((cfr["value"], cfr["failed_changes"], cfr["changes"]), (0.5, 1, 2))
        self.assertEqual(cfr["status"], "n/a")

        restore = finished[4] - finished[2]
        self.assertEqual(r["incidents"], [{
            "app": "hello", "release": 2, "kind": "rolled_back",
            "started_at": rel[2]["finished_at"], "restored_at": rel[4]["finished_at"],
            "restored_by": 4, "duration_ms": restore}])
        mttr = k["mean_time_to_restore"]
        self.assertEqual((mttr["value"], mttr["incidents"], mttr["restored"], mttr["open"]),
                         (restore, 1, 1, 0))
        self.assertEqual(mttr["target"], {"op": "<", "value": 1_800_000})
        self.assertEqual(mttr["status"], "pass")

        rollback = k["rollback_duration"]
        took = finished[4] - created[4]
        self.assertEqual((rollback["value"], rollback["max_ms"], rollback["mean_ms"]),
                         (took, took, took))
        self.assertEqual((rollback["rollbacks"], rollback["succeeded"]), (1, 1))
        self.assertEqual(rollback["target"], {"op": "<", "value": 900_000})
        self.assertEqual(rollback["status"], "pass")
        self.assertEqual(r["status"], "fail")

        # Every app (only hello here) gives the same numbers.
        everything = self.report()
        self.assertIsNone(everything["app"])
        self.assertEqual(everything["kpis"], k)

        # The table: each KPI with its target and mark.
        res = self.daemon.cli("report", "hello")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        lines = {line.split("  ")[0]: line for line in res.stdout.splitlines()}
        self.assertIn("75.0% (3 of 4)", lines["deploy success rate"])
        self.assertIn("> 95%", lines["deploy success rate"])
        self.assertTrue(lines["deploy success rate"].endswith("FAIL"), lines)
        self.assertIn("50.0% (1 of 2 change(s))", lines["change failure rate"])
        self.assertIn("< 30m", lines["mean time to restore"])
        self.assertTrue(lines["mean time to restore"].endswith("PASS"), lines)
        self.assertIn("< 15m", lines["rollback duration"])
        self.assertTrue(lines["rollback duration"].endswith("PASS"), lines)
        self.assertIn("Targets: FAIL", res.stdout)
        self.assertIn("hello release 2 rolled_back", res.stdout)

        # A window that starts after the history holds none of it.
        short = self.report("hello", "--since", "1ms")
        self.assertEqual(short["releases"]["deploys"], 0)
        self.assertEqual(short["window"]["length"], "1ms")

        # The report is read from the stored history: a restarted daemon gives the same one.
        self.assertEqual(self.daemon.stop(), 0)
        self.daemon.start()
        again = self.report("hello")
        for key in ("releases", "kpis", "incidents", "status"):
            self.assertEqual(again[key], r[key], key)


if __name__ == "__main__":
    unittest.main()
