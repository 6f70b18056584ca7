#include "monitoring/promql_rules.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace slipway::monitoring {
namespace {

using alerts::AlertMetric;
using alerts::CompareOp;
using alerts::Comparison;
using namespace std::chrono_literals;

alerts::AlertExpr Parse(std::string_view text) {
  alerts::ParsedExpr parsed = alerts::ParseAlertExpr(text);
  EXPECT_FALSE(parsed.error) << text << ": " << parsed.error->message;
  return parsed.expr;
}

std::string Expr(std::string_view text) { return ExprPromQL("shop", Parse(text)); }

constexpr char kRequests[] = "slipway_http_requests_total{app=\"shop\",release!=\"none\"}";
constexpr char kErrors[] =
    "slipway_http_requests_total{app=\"shop\",release!=\"none\",code=\"5xx\"}";

TEST(PrometheusDuration, WholeUnitsWithoutFractions) {
  EXPECT_EQ(PrometheusDuration(0ms), "0s");
  EXPECT_EQ(PrometheusDuration(300'000ms), "5m");
  EXPECT_EQ(PrometheusDuration(90'000ms), "1m30s");
  EXPECT_EQ(PrometheusDuration(5'400'000ms), "1h30m");
  EXPECT_EQ(PrometheusDuration(1'500ms), "1s500ms");
  EXPECT_EQ(PrometheusDuration(86'400'000ms), "24h");
}

TEST(MetricPromQL, EveryFunction) {
  EXPECT_EQ(MetricPromQL("shop", AlertMetric::kRequests, 300s),
            std::string("sum by (app) (increase(") + kRequests + "[5m]))");
  EXPECT_EQ(MetricPromQL("shop", AlertMetric::kErrors, 60s),
            std::string("sum by (app) (increase(") + kErrors + "[1m]))");
  EXPECT_EQ(MetricPromQL("shop", AlertMetric::kErrorRate, 300s),
            std::string("sum by (app) (rate(") + kErrors + "[5m])) / sum by (app) (rate(" +
                kRequests + "[5m]))");
  EXPECT_EQ(MetricPromQL("shop", AlertMetric::kRequestRate, 30s),
            std::string("sum by (app) (rate(") + kRequests + "[30s]))");
  const std::string buckets =
      "slipway_http_request_duration_seconds_bucket{app=\"shop\",release!=\"none\"}";
  EXPECT_EQ(MetricPromQL("shop", AlertMetric::kLatencyP50, 300s),
            "histogram_quantile(0.5, sum by (app, le) (rate(" + buckets + "[5m])))");
  EXPECT_EQ(MetricPromQL("shop", AlertMetric::kLatencyP90, 300s),
            "histogram_quantile(0.9, sum by (app, le) (rate(" + buckets + "[5m])))");
  EXPECT_EQ(MetricPromQL("shop", AlertMetric::kLatencyP95, 120s),
            "histogram_quantile(0.95, sum by (app, le) (rate(" + buckets + "[2m])))");
  EXPECT_EQ(MetricPromQL("shop", AlertMetric::kLatencyP99, 600s),
            "histogram_quantile(0.99, sum by (app, le) (rate(" + buckets + "[10m])))");
  EXPECT_EQ(MetricPromQL("shop", AlertMetric::kReplicaRestarts, 86400s),
            "(sum by (app) (increase(slipway_replica_restarts_total{app=\"shop\"}[24h])) or "
            "label_replace(vector(0), \"app\", \"shop\", \"\", \"\"))");
}

TEST(ComparisonPromQL, ThresholdsInTheMetricsUnit) {
  EXPECT_EQ(Expr("error_rate(5m) > 5%"), std::string("sum by (app) (rate(") + kErrors +
                                             "[5m])) / sum by (app) (rate(" + kRequests +
                                             "[5m])) > 0.05");
  EXPECT_EQ(Expr("latency_p99(1m) >= 250ms"),
            "histogram_quantile(0.99, sum by (app, le) (rate(slipway_http_request_duration_"
            "seconds_bucket{app=\"shop\",release!=\"none\"}[1m]))) >= 0.25");
  EXPECT_EQ(Expr("requests(5m) < 10"),
            std::string("sum by (app) (increase(") + kRequests + "[5m])) < 10");
  EXPECT_EQ(Expr("request_rate(1m) <= 2.5"),
            std::string("sum by (app) (rate(") + kRequests + "[1m])) <= 2.5");
  EXPECT_EQ(Expr("errors(10m) == 0"),
            std::string("sum by (app) (increase(") + kErrors + "[10m])) == 0");
  EXPECT_EQ(Expr("replica_restarts(1h) != 1"),
            "(sum by (app) (increase(slipway_replica_restarts_total{app=\"shop\"}[1h])) or "
            "label_replace(vector(0), \"app\", \"shop\", \"\", \"\")) != 1");
}

TEST(ExprPromQL, AndOrMatchOnAppAndKeepTheGrouping) {
  const std::string req = std::string("sum by (app) (increase(") + kRequests + "[5m]))";
  const std::string err = std::string("sum by (app) (increase(") + kErrors + "[5m]))";
  const std::string rate = std::string("sum by (app) (rate(") + kRequests + "[1m]))";
  EXPECT_EQ(Expr("requests(5m) >= 100 and errors(5m) > 3"),
            "(" + req + " >= 100) and on (app) (" + err + " > 3)");
  EXPECT_EQ(Expr("requests(5m) >= 100 or errors(5m) > 3"),
            "(" + req + " >= 100) or on (app) (" + err + " > 3)");
  // `and` binds tighter: no parentheses needed around it under `or` ...
  EXPECT_EQ(Expr("requests(5m) >= 100 and errors(5m) > 3 or request_rate(1m) > 9"),
            "(" + req + " >= 100) and on (app) (" + err + " > 3) or on (app) (" + rate + " > 9)");
  // ... and an `or` under an `and` keeps them.
  EXPECT_EQ(Expr("requests(5m) >= 100 and (errors(5m) > 3 or request_rate(1m) > 9)"),
            "(" + req + " >= 100) and on (app) ((" + err + " > 3) or on (app) (" + rate + " > 9))");
  EXPECT_EQ(Expr("(errors(5m) > 3 or request_rate(1m) > 9) and requests(5m) >= 100"),
            "((" + err + " > 3) or on (app) (" + rate + " > 9)) and on (app) (" + req + " >= 100)");
}

TEST(ValueUnit, TheUnitOfTheSidesThatCanGiveTheValue) {
  EXPECT_EQ(ValueUnit(Parse("error_rate(5m) > 5%")), alerts::MetricUnit::kShare);
  // `a and b` has a's value: b's unit does not matter.
  EXPECT_EQ(ValueUnit(Parse("latency_p99(5m) > 1s and requests(5m) > 10")),
            alerts::MetricUnit::kSeconds);
  // `a or b` may have either's.
  EXPECT_EQ(ValueUnit(Parse("latency_p99(5m) > 1s or latency_p50(5m) > 1s")),
            alerts::MetricUnit::kSeconds);
  EXPECT_EQ(ValueUnit(Parse("latency_p99(5m) > 1s or requests(5m) > 10")), std::nullopt);
}

TEST(PrometheusTemplate, ValueLabelsAndLiteralBraces) {
  const std::map<std::string, std::string> labels = {{"alertname", "Slow"}, {"team", "shop"}};
  EXPECT_EQ(PrometheusTemplate("p99 is {{ $value }}", labels, alerts::MetricUnit::kSeconds),
            "p99 is {{ $value | humanizeDuration }}");
  EXPECT_EQ(PrometheusTemplate("{{$value}} fail", labels, alerts::MetricUnit::kShare),
            "{{ $value | humanizePercentage }} fail");
  EXPECT_EQ(PrometheusTemplate("{{ $value }}", labels, alerts::MetricUnit::kPerSecond),
            "{{ $value | humanize }}/s");
  EXPECT_EQ(PrometheusTemplate("{{ $value }}", labels, alerts::MetricUnit::kCount),
            "{{ printf \"%.0f\" $value }}");
  EXPECT_EQ(PrometheusTemplate("{{ $value }}", labels, std::nullopt), "{{ $value }}");
  EXPECT_EQ(PrometheusTemplate("{{ $labels.app }} of {{ $labels.team }}: {{ $labels.alertname }}",
                               labels, std::nullopt),
            "{{ $labels.app }} of shop: Slow");
  // A label Slipway does not have is empty in both.
  EXPECT_EQ(PrometheusTemplate("[{{ $labels.zone }}]", labels, std::nullopt), "[]");
  // Slipway writes anything else as it is; Prometheus would run it.
  EXPECT_EQ(PrometheusTemplate("{{ humanize 3 }} and {{ open", labels, std::nullopt),
            "{{ \"{{\" }} humanize 3 }} and {{ \"{{\" }} open");
  EXPECT_EQ(PrometheusTemplate("a{{{ $value }}", labels, std::nullopt), "a{{ \"{{\" }}{ $value }}");
  EXPECT_EQ(PrometheusTemplate("set {{{ $labels.team }}}", labels, std::nullopt),
            "set {{ \"{{\" }}{ $labels.team }}}");
  EXPECT_EQ(PrometheusTemplate("{ {{ $labels.team }} }", labels, std::nullopt), "{ shop }");
  EXPECT_EQ(PrometheusTemplate("x{", labels, std::nullopt), "x{{ \"{\" }}");
}

spec::AlertsConfig Config() {
  spec::AlertsConfig config;
  config.builtin.error_rate.for_duration = 2'000ms;
  config.builtin.latency_p95.enabled = false;
  config.builtin.deploy_failed.resolve_after = 600'000ms;
  spec::AlertRuleSpec rule;
  rule.name = "SlowCheckout";
  rule.expr = "latency_p99(5m) > 2s and requests(5m) >= 50";
  rule.for_duration = 600'000ms;
  rule.labels = {{"team", "shop"}, {"severity", "page"}};
  rule.annotations = {{"summary", "checkout p99 is {{ $value }} ({{ $labels.team }})"},
                      {"runbook_url", "https://runbooks.example.com/slow-checkout"}};
  config.rules.push_back(rule);
  return config;
}

TEST(AlertRulesPromQL, BuiltinRulesThatAreOnThenTheUsers) {
  const std::vector<PrometheusRule> rules = AlertRulesPromQL("shop", Config());
  ASSERT_EQ(rules.size(), 5u);
  EXPECT_EQ(rules[0].alert, "HighErrorRate");
  EXPECT_EQ(rules[0].expr, std::string("sum by (app) (rate(") + kErrors +
                               "[5m])) / sum by (app) (rate(" + kRequests + "[5m])) > 0.05");
  EXPECT_EQ(rules[0].for_duration, 2'000ms);
  EXPECT_EQ(rules[0].labels, (std::map<std::string, std::string>{{"severity", "critical"}}));
  EXPECT_EQ(rules[0].annotations.at("summary"),
            "shop: more than 5.0% of requests fail (5xx) over 5m");
  EXPECT_EQ(rules[0].annotations.at("description"),
            "{{ $value | humanizePercentage }} of the requests to shop answered 5xx over the "
            "last 5m");
  EXPECT_EQ(rules[0].source, "error_rate(5m) > 0.05 for 2s");

  EXPECT_EQ(rules[1].alert, "CrashLooping");
  EXPECT_EQ(rules[1].expr,
            "(sum by (app) (increase(slipway_replica_restarts_total{app=\"shop\"}[10m])) or "
            "label_replace(vector(0), \"app\", \"shop\", \"\", \"\")) >= 3");
  EXPECT_EQ(rules[1].for_duration, 0ms);
  EXPECT_EQ(rules[1].annotations.at("description"),
            "{{ printf \"%.0f\" $value }} replica exits of shop in the last 10m (alert at 3)");

  EXPECT_EQ(rules[2].alert, "DeployFailed");
  EXPECT_EQ(rules[2].expr,
            "sum by (app) (increase(slipway_deploys_total{app=\"shop\",outcome=\"failed\"}[10m])) "
            "> 0");
  EXPECT_EQ(rules[2].labels.at("severity"), "warning");

  EXPECT_EQ(rules[3].alert, "RolledBack");
  EXPECT_EQ(rules[3].expr,
            "(sum by (app) (increase(slipway_rollbacks_total{app=\"shop\"}[5m])) > 0) or on (app) "
            "(sum by (app) (increase(slipway_deploys_total{app=\"shop\",outcome=\"aborted\"}[5m])) "
            "> 0)");

  EXPECT_EQ(rules[4].alert, "SlowCheckout");
  EXPECT_EQ(rules[4].for_duration, 600'000ms);
  EXPECT_EQ(rules[4].labels,
            (std::map<std::string, std::string>{{"severity", "page"}, {"team", "shop"}}));
  EXPECT_EQ(rules[4].annotations.at("summary"),
            "checkout p99 is {{ $value | humanizeDuration }} (shop)");
  EXPECT_EQ(rules[4].annotations.at("runbook_url"), "https://runbooks.example.com/slow-checkout");
  EXPECT_EQ(rules[4].source, "latency_p99(5m) > 2s and requests(5m) >= 50 for 10m");
}

TEST(AlertRulesPromQL, EverythingOffIsNoRules) {
  spec::AlertsConfig config;
  config.builtin.error_rate.enabled = false;
  config.builtin.latency_p95.enabled = false;
  config.builtin.crash_looping.enabled = false;
  config.builtin.deploy_failed.enabled = false;
  config.builtin.rollback.enabled = false;
  EXPECT_TRUE(AlertRulesPromQL("shop", config).empty());
  spec::AppSpec spec;
  spec.app = "shop";
  spec.alerts = config;
  EXPECT_EQ(ExportRuleGroup(spec).name, "slipway-shop");
  EXPECT_TRUE(ExportRuleGroup(spec).rules.empty());
  // Still a valid rule file: an empty group.
  YAML::Node file = YAML::Load(RuleFileYaml(ExportRuleGroup(spec), "spec.yaml"));
  EXPECT_EQ(file["groups"][0]["name"].as<std::string>(), "slipway-shop");
  EXPECT_EQ(file["groups"][0]["rules"].size(), 0u);
}

TEST(RuleFileYaml, ReadsBackAsThePrometheusRuleFileFormat) {
  spec::AppSpec spec;
  spec.app = "shop";
  spec.alerts = Config();
  spec.alerts.rules[0].annotations["description"] =
      "quotes \" and \\ and\nnewline: # not a comment";
  const PrometheusRuleGroup group = ExportRuleGroup(spec);
  const std::string text = RuleFileYaml(group, "release 3 of shop");
  EXPECT_TRUE(
      text.starts_with("# Prometheus alerting rules of the Slipway app shop, from release "
                       "3 of shop"))
      << text;
  EXPECT_NE(text.find("      # slipway: latency_p99(5m) > 2s and requests(5m) >= 50 for 10m\n"),
            std::string::npos);
  YAML::Node file = YAML::Load(text);
  ASSERT_EQ(file["groups"].size(), 1u);
  YAML::Node rules = file["groups"][0]["rules"];
  ASSERT_EQ(rules.size(), group.rules.size());
  for (std::size_t i = 0; i < group.rules.size(); ++i) {
    EXPECT_EQ(rules[i]["alert"].as<std::string>(), group.rules[i].alert);
    EXPECT_EQ(rules[i]["expr"].as<std::string>(), group.rules[i].expr);
    for (const auto& [key, value] : group.rules[i].labels) {
      EXPECT_EQ(rules[i]["labels"][key].as<std::string>(), value);
    }
    for (const auto& [key, value] : group.rules[i].annotations) {
      EXPECT_EQ(rules[i]["annotations"][key].as<std::string>(), value);
    }
  }
  EXPECT_EQ(rules[0]["for"].as<std::string>(), "2s");
  EXPECT_FALSE(rules[1]["for"]);  // CrashLooping: for 0s
  EXPECT_EQ(rules[4]["for"].as<std::string>(), "10m");
  EXPECT_EQ(rules[4]["annotations"]["description"].as<std::string>(),
            "quotes \" and \\ and\nnewline: # not a comment");
}

}  // namespace
}  // namespace slipway::monitoring
