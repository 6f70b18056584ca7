"""`slipway export prometheus-rules` and `slipway export grafana-dashboard` with the real CLI,
the real daemon, `promtool` and a real Prometheus: the rule file of a spec with every built-in
rule and user rules over every function (and/or/parentheses) passes `promtool check rules`, and
`promtool test rules` fires exactly the rules it should on synthetic series; every query of the
dashboard passes `promtool check rules` as a recording rule and the JSON has the structure
Grafana imports; bad input gets a clear error and exit code; end to end, a Prometheus scraping
the daemon's /metrics with the exported rules fires HighErrorRate for a replica that fails half
of its requests."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

import harness
from harness import Daemon, LoadGen, Workspace, free_port, stop_daemon, wait_until

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")

# Every built-in rule on (tuned), and user rules that use every function of the language.
ALERTS = """alerts:
  builtin:
    error_rate: {threshold: 2%, window: 1m, for: 2m, severity: page}
    latency_p95: {threshold: 800ms, window: 5m, for: 10m}
    crash_looping: {restarts: 5, window: 30m}
    deploy_failed: {resolve_after: 10m}
    rollback: {resolve_after: 15m, severity: critical}
  rules:
    - name: SlowCheckout
      expr: latency_p99(5m) > 2s and requests(5m) >= 50
      for: 10m
      labels: {team: shop}
      annotations:
        summary: "checkout p99 is {{ $value }} for {{ $labels.app }} ({{ $labels.team }})"
        runbook_url: https://runbooks.example.com/slow-checkout
    - name: BusyOrBroken
      expr: (request_rate(1m) > 500 or errors(5m) > 100) and latency_p50(1m) >= 250ms
      annotations:
        description: "{{ $value }} and a literal {{ not_a_template }}"
    - name: Quantiles
      expr: latency_p90(10m) > 1.5s or replica_restarts(24h) >= 10 or error_rate(5m) > 0.5
    - name: Quiet
      expr: requests(10m) < 1 and replica_restarts(1h) == 0
"""
# Every objective; minute_error_rate 50%, so that 20% 5xx leaves every minute good (only the
# error_rate objective fires on it).
SLO = """slo:
  availability: {target: 99.9%, minute_error_rate: 50%}
  latency: {p95: 300ms}
  error_rate: 1%
"""
# ErrorBudgetBurn: one rule per objective and severity (default pairs: critical and warning),
# after the other built-in rules and before the user's, as Slipway orders them.
RULE_NAMES = (["HighErrorRate", "HighLatency", "CrashLooping", "DeployFailed", "RolledBack"]
              + ["ErrorBudgetBurn"] * 6 + ["SlowCheckout", "BusyOrBroken", "Quantiles", "Quiet"])

OBJECTIVES = {"availability": "99.9% of minutes served (5xx share at most 50% in a minute)",
              "latency": "95% of requests within 300ms (p95)",
              "error_rate": "99% of requests without a 5xx answer"}
PAIRS = {"critical": "14.4x over 1h and 5m, or 6x over 6h and 30m",
         "warning": "3x over 24h and 2h, or 1x over 72h and 6h"}


def burn_alert(slo, severity, value):
    """The ErrorBudgetBurn alert Prometheus should have, with the exported annotations."""
    return {"exp_labels": {"alertname": "ErrorBudgetBurn", "app": "hello", "slo": slo,
                           "severity": severity},
            "exp_annotations": {
                "summary": f"hello: the {slo} error budget burns too fast (alert above "
                           f"{PAIRS[severity]})",
                "description": f"burn rate {value} over the long window of the first pair above "
                               f"its rate (alert above {PAIRS[severity]}); objective: "
                               f"{OBJECTIVES[slo]}"}}

# Grafana's own variables, as it fills them in before sending a query.
GRAFANA_VARS = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "1m"}


def promtool(*args, cwd=None):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


class ExportTestCase(unittest.TestCase):
    def setUp(self):
        self.ws = Workspace(prefix="slipway-export-")
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            stop_daemon(self, self.daemon)
        self.ws.cleanup()

    def cli(self, *args):
        return subprocess.run([harness.SLIPWAY, "--state-dir", self.ws.state_dir, *args],
                              capture_output=True, text=True, timeout=60)

    def need_promtool(self):
        if not PROMTOOL:
            self.skipTest("promtool is not installed (Debian package `prometheus`)")

    def export(self, kind, *args):
        out = os.path.join(self.ws.dir, f"{kind}.out")
        res = self.cli("export", kind, *args, "-o", out)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(res.stdout, "")
        with open(out) as f:
            return out, f.read()


class RulesFileTest(ExportTestCase):
    def spec(self, extra=ALERTS + SLO):
        return self.ws.spec("slipway.yaml", listen_port=free_port(), extra=extra)

    def test_rules_file_of_every_rule_and_function_passes_promtool(self):
        self.need_promtool()
        path, text = self.export("prometheus-rules", "--spec", self.spec())
        res = promtool("check", "rules", path)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr + "\n" + text)
        self.assertIn(f"SUCCESS: {len(RULE_NAMES)} rules found", res.stdout)
        self.assertEqual(re.findall(r"^      - alert: (\w+)$", text, re.M), RULE_NAMES)
        self.assertIn("from the spec file " + os.path.join(self.ws.dir, "slipway.yaml"), text)
        # Every function and both joins reached the file.
        for needle in ["histogram_quantile(0.5,", "histogram_quantile(0.9,",
                       "histogram_quantile(0.95,", "histogram_quantile(0.99,",
                       "rate(slipway_http_requests_total", "increase(slipway_http_requests_total",
                       'code="5xx"', "slipway_replica_restarts_total",
                       'slipway_deploys_total{app="hello",outcome="failed"}[10m]',
                       "slipway_rollbacks_total", " and on (app) ", " or on (app) ",
                       # ErrorBudgetBurn over the raw series, not over slipway_slo_*.
                       'slipway_http_requests_total{app="hello",code="5xx"}[1h]',
                       'slipway_http_request_duration_seconds_bucket{app="hello",le="0.25"}[5m]',
                       "slipway_replica_ready", "[72h:1m]",
                       "# - ErrorBudgetBurn counts what Slipway's SLOs count"]:
            self.assertIn(needle, text)
        self.assertNotIn("slipway_slo_", text)
        # The same file on stdout.
        res = self.cli("export", "prometheus-rules", "hello", "--spec", self.spec())
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout, text)

    def test_promtool_test_rules_fires_what_slipway_would(self):
        """Synthetic series through the exported rules: 50% 5xx on release 1 fires
        HighErrorRate (2% over 1m, for 2m) with Slipway's annotations; the proxy's own
        release="none" answers do not count; a healthy app fires nothing of it."""
        self.need_promtool()
        path, _ = self.export("prometheus-rules", "--spec", self.spec())
        def series(release, code, values):
            return {"series": f'slipway_http_requests_total{{app="hello",release="{release}",'
                              f'code="{code}",method="GET"}}', "values": values}

        tests = {
            "rule_files": [path],
            "evaluation_interval": "15s",
            "tests": [
                {   # 30 answers per 15s, half of them 5xx.
                    "interval": "15s",
                    "input_series": [series("1", "2xx", "0+15x40"), series("1", "5xx", "0+15x40")],
                    "alert_rule_test": [
                        # Pending for 2m first: not firing yet at 1m30s.
                        {"eval_time": "1m30s", "alertname": "HighErrorRate", "exp_alerts": []},
                        {"eval_time": "5m", "alertname": "HighErrorRate", "exp_alerts": [{
                            "exp_labels": {"alertname": "HighErrorRate", "app": "hello",
                                           "severity": "page"},
                            "exp_annotations": {
                                "summary": "hello: more than 2.0% of requests fail (5xx) over 1m",
                                "description": "50% of the requests to hello answered 5xx over "
                                               "the last 1m"}}]},
                    ],
                },
                {   # 1 in 1000 fails (0.1% < 2%), and many 503s without a backend, which
                    # Slipway does not count either.
                    "interval": "15s",
                    "input_series": [series("1", "2xx", "0+999x40"), series("1", "5xx", "0+1x40"),
                                     series("none", "5xx", "0+5000x40")],
                    "alert_rule_test": [
                        {"eval_time": "5m", "alertname": "HighErrorRate", "exp_alerts": []},
                    ],
                },
            ],
        }
        test_file = os.path.join(self.ws.dir, "rules_test.json")
        with open(test_file, "w") as f:
            json.dump(tests, f)  # JSON is YAML
        res = promtool("test", "rules", test_file)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("SUCCESS", res.stdout)

    def test_promtool_test_rules_fires_the_burn_rate_alerts_slipway_would(self):
        """Synthetic series through the exported ErrorBudgetBurn rules (default pairs): 20% 5xx
        against the 99% error_rate objective (20x its budget) fires the critical alert (and the
        warning one); 0.5% (0.5x) fires none; replicas none of which is ready make the minutes
        bad (availability); half the requests above 250ms (10x a 5% budget) fires the latency
        alerts from the second critical pair (6x over 6h and 30m), whose long-window rate is
        the alert's value."""
        self.need_promtool()
        path, _ = self.export("prometheus-rules", "--spec", self.spec())

        def requests(release, code, values):
            return {"series": f'slipway_http_requests_total{{app="hello",release="{release}",'
                              f'code="{code}",method="GET"}}', "values": values}

        def ready(values):
            return {"series": 'slipway_replica_ready{app="hello",release="1",'
                              'replica="hello-r1-0"}', "values": values}

        def duration(suffix, le, values):
            le_label = f',le="{le}"' if le else ""
            return {"series": f'slipway_http_request_duration_seconds_{suffix}{{app="hello",'
                              f'release="1"{le_label}}}', "values": values}

        def case(series, alerts, at="10m"):
            return {"interval": "15s", "input_series": series, "alert_rule_test": [
                {"eval_time": at, "alertname": "ErrorBudgetBurn", "exp_alerts": alerts}]}

        tests = {
            "rule_files": [path],
            "evaluation_interval": "15s",
            "tests": [
                # 15 answers per 15s, 3 of them 5xx: 20%, burn rate 20 (14.4 and 3 exceeded).
                # The proxy's own answers count too: 1 of the 3 is release="none".
                case([ready("1x60"), requests("1", "2xx", "0+12x60"),
                      requests("1", "5xx", "0+2x60"), requests("none", "5xx", "0+1x60")],
                     [burn_alert("error_rate", "critical", "20x"),
                      burn_alert("error_rate", "warning", "20x")]),
                # 1 in 200 fails: 0.5%, burn rate 0.5: nothing fires.
                case([ready("1x60"), requests("1", "2xx", "0+199x60"),
                      requests("1", "5xx", "0+1x60")], []),
                # The replica is not ready after 5m (and there are no requests): at 10m, of the
                # 11 minutes ended at 0..10m (Prometheus 2's subquery ranges include both ends)
                # those at 6m..10m are bad: 5/11 over 1h, 455x a 0.1% budget; 5/6 over 5m.
                case([ready("1x20 0x40")],
                     [burn_alert("availability", "critical", "455x"),
                      burn_alert("availability", "warning", "455x")]),
                # Half of 20 requests per 15s above le="0.25" (the bound nearest 300ms): 50%
                # slow, 10x the 5% budget: under 14.4, above 6.
                case([duration("bucket", "0.25", "0+10x60"), duration("bucket", "+Inf", "0+20x60"),
                      duration("count", None, "0+20x60")],
                     [burn_alert("latency", "critical", "10x"),
                      burn_alert("latency", "warning", "10x")]),
            ],
        }
        test_file = os.path.join(self.ws.dir, "burn_rules_test.json")
        with open(test_file, "w") as f:
            json.dump(tests, f)
        res = promtool("test", "rules", test_file)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("SUCCESS", res.stdout)

    def test_builtin_rules_turned_off_are_not_exported(self):
        self.need_promtool()
        extra = ("alerts:\n  builtin:\n    error_rate: false\n    latency_p95: false\n"
                 "    crash_looping: false\n    deploy_failed: false\n    rollback: false\n"
                 "    error_budget_burn: false\n" + SLO)
        path, text = self.export("prometheus-rules", "--spec", self.spec(extra))
        self.assertNotIn("alert:", text)
        res = promtool("check", "rules", path)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr + text)
        self.assertIn("SUCCESS: 0 rules found", res.stdout)

    def test_bad_input_exits_with_a_clear_error(self):
        bad = self.ws.write_spec("bad.yaml", "app: hello\ncommand: ./hello\nalerts:\n  rules:\n"
                                 "    - name: X\n      expr: error_rat(5m) > 5%\n")
        res = self.cli("export", "prometheus-rules", "--spec", bad)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn(f"{bad}:6:13: alerts.rules[0].expr: unknown function \"error_rat\"",
                      res.stderr)
        self.assertEqual(res.stdout, "")
        res = self.cli("export", "grafana-dashboard", "shop", "--spec", self.spec())
        self.assertEqual(res.returncode, 2)
        self.assertIn("is the spec of hello, not shop", res.stderr)
        res = self.cli("export", "prometheus-rules")
        self.assertEqual(res.returncode, 2)
        self.assertIn("name the app", res.stderr)
        res = self.cli("export", "prometheus-rules", "hello")  # no daemon runs
        self.assertEqual(res.returncode, 3, res.stderr)
        res = self.cli("export", "prometheus-rules", "--spec", self.spec(), "-o",
                       os.path.join(self.ws.dir, "no", "such", "dir", "rules.yaml"))
        self.assertEqual(res.returncode, 1)
        self.assertIn("cannot write", res.stderr)


class DashboardTest(ExportTestCase):
    def test_every_panel_query_passes_promtool_and_the_json_is_importable(self):
        self.need_promtool()
        spec = self.ws.spec("slipway.yaml", listen_port=free_port(), extra=ALERTS + SLO)
        _, text = self.export("grafana-dashboard", "--spec", spec)
        dashboard = json.loads(text)
        self.assertEqual(dashboard["uid"], "slipway-hello")
        self.assertGreaterEqual(dashboard["schemaVersion"], 36)
        names = [v["name"] for v in dashboard["templating"]["list"]]
        self.assertEqual(names, ["datasource", "app"])
        self.assertEqual(dashboard["templating"]["list"][0]["query"], "prometheus")
        ids = [p["id"] for p in dashboard["panels"]]
        self.assertEqual(len(ids), len(set(ids)))
        exprs = []
        for p in dashboard["panels"]:
            self.assertIn("gridPos", p)
            if p["type"] == "row":
                continue
            self.assertEqual(p["datasource"]["type"], "prometheus", p["title"])
            self.assertTrue(p["targets"], p["title"])
            exprs += [t["expr"] for t in p["targets"]]
        exprs += [a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a]
        self.assertGreaterEqual(len(exprs), 20)
        # The error-rate panel draws the spec's threshold (2%).
        errors = [p for p in dashboard["panels"] if p["title"] == "Error rate (5xx share)"][0]
        self.assertEqual(errors["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"],
                         0.02)
        # The SLO row: an SLI panel per objective, the budget left and the burn rate.
        titles = [p["title"] for p in dashboard["panels"]]
        for title in ["SLOs", "SLI: availability", "SLI: latency", "SLI: error_rate",
                      "Error budget remaining", "Burn rate"]:
            self.assertIn(title, titles)

        def filled(expr):
            expr = expr.replace("$app", "hello")
            for var, value in GRAFANA_VARS.items():
                expr = expr.replace(var, value)
            self.assertNotIn("$", expr)
            return expr

        rules = "groups:\n  - name: dashboard\n    rules:\n" + "".join(
            f"      - record: panel_query_{i}\n        expr: {json.dumps(filled(e))}\n"
            for i, e in enumerate(exprs))
        path = self.ws.write_spec("dashboard_rules.yaml", rules)
        res = promtool("check", "rules", path)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr + "\n" + rules)
        self.assertIn(f"SUCCESS: {len(exprs)} rules found", res.stdout)


class DaemonExportTest(ExportTestCase):
    """With the daemon: the spec of the serving release; and a real Prometheus end to end."""

    def setUp(self):
        super().setUp()
        self.metrics_port = free_port()
        self.daemon = Daemon(self.ws, extra_args=["--metrics-listen",
                                                  f"127.0.0.1:{self.metrics_port}"]).start()
        self.port = free_port()
        self.load = None
        self.prometheus = None

    def tearDown(self):
        if self.load:
            self.load.stop()
        if self.prometheus and self.prometheus.poll() is None:
            self.prometheus.terminate()
            try:
                self.prometheus.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.prometheus.kill()
                self.prometheus.wait()
        super().tearDown()

    def deploy(self, version, fail_rate, extra):
        spec = self.ws.spec(f"{version}.yaml", version=version, replicas=2,
                            listen_port=self.port, env={"FAIL_RATE": str(fail_rate)}, extra=extra)
        res = self.daemon.cli("deploy", "-f", spec)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def test_unknown_app_and_the_serving_releases_spec(self):
        res = self.cli("export", "prometheus-rules", "nope")
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("no app named nope", res.stderr)
        self.deploy("v1", 0, "alerts:\n  builtin:\n    error_rate: {threshold: 3%}\n")
        self.deploy("v2", 0, "alerts:\n  builtin:\n    error_rate: {threshold: 7%}\n")
        _, text = self.export("prometheus-rules", "hello")
        self.assertIn("from release 2 of hello (serving)", text)
        self.assertIn("/ sum by (app) (rate(slipway_http_requests_total{app=\"hello\","
                      "release!=\"none\"}[5m])) > 0.07", text)
        res = self.daemon.cli("rollback", "hello")  # release 1's spec again, as release 3
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        _, text = self.export("prometheus-rules", "hello")
        self.assertIn("from release 3 of hello (serving)", text)
        self.assertIn("> 0.03", text)
        _, dashboard = self.export("grafana-dashboard", "hello")
        self.assertEqual(json.loads(dashboard)["templating"]["list"][1]["query"], "hello")

    def test_prometheus_fires_high_error_rate_from_the_exported_rules(self):
        if not PROMETHEUS:
            self.skipTest("prometheus is not installed (Debian package `prometheus`)")
        self.deploy("v1", 0.5, "alerts:\n  builtin:\n    error_rate: {window: 30s, for: 3s}\n")
        rules, text = self.export("prometheus-rules", "hello")
        self.assertIn("from release 1 of hello (serving)", text)

        prom_dir = tempfile.mkdtemp(prefix="prometheus-", dir=self.ws.dir)
        config = os.path.join(prom_dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    f"rule_files:\n  - {rules}\n"
                    "scrape_configs:\n  - job_name: slipway\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{self.metrics_port}']\n")
        prom_port = free_port()
        log = open(os.path.join(prom_dir, "prometheus.log"), "wb")
        self.prometheus = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}",
             f"--storage.tsdb.path={os.path.join(prom_dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=log, stderr=log, start_new_session=True)
        log.close()

        def api(path):
            with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}{path}", timeout=5) as r:
                return json.loads(r.read())

        rule_names = wait_until(lambda: [r["name"] for g in api("/api/v1/rules")["data"]["groups"]
                                         for r in g["rules"]], 60, "Prometheus to load the rules")
        self.assertEqual(rule_names, ["HighErrorRate", "HighLatency", "CrashLooping",
                                      "DeployFailed", "RolledBack"])
        self.load = LoadGen(self.port, rate=100, workers=4)
        self.load.start()
        started = time.monotonic()

        def firing():
            alerts = api("/api/v1/alerts")["data"]["alerts"]
            return [a for a in alerts if a["labels"].get("alertname") == "HighErrorRate"
                    and a["labels"].get("app") == "hello" and a["state"] == "firing"]

        try:
            alerts = wait_until(firing, 120, "HighErrorRate to fire in Prometheus", interval=0.5)
        except AssertionError:
            with open(os.path.join(prom_dir, "prometheus.log"), errors="replace") as f:
                print("---- prometheus log (tail) ----\n" + f.read()[-4000:])
            print(json.dumps(api("/api/v1/alerts"), indent=1))
            raise
        print(f"HighErrorRate fired in Prometheus {time.monotonic() - started:.1f}s after the "
              "load started (window 30s, for 3s)")
        self.assertEqual(alerts[0]["labels"], {"alertname": "HighErrorRate", "app": "hello",
                                               "severity": "critical"})
        # Half of the requests fail: the value is near 50% (the hello replica draws at random).
        value = float(alerts[0]["value"])
        self.assertGreater(value, 0.3)
        self.assertLess(value, 0.7)
        self.assertRegex(alerts[0]["annotations"]["description"],
                         r"^\d+(\.\d+)?% of the requests to hello answered 5xx over the last 30s$")
        self.assertEqual(alerts[0]["annotations"]["summary"],
                         "hello: more than 5.0% of requests fail (5xx) over 30s")
        # The healthy rules do not fire.
        others = [a["labels"]["alertname"] for a in api("/api/v1/alerts")["data"]["alerts"]
                  if a["labels"].get("alertname") != "HighErrorRate"]
        self.assertEqual(others, [])


if __name__ == "__main__":
    unittest.main()
