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

// The SLO series: every request of the app, release="none" included (as Slipway's SLO counts).
constexpr char kAllRequests[] = "slipway_http_requests_total{app=\"shop\"}";
constexpr char kAll5xx[] = "slipway_http_requests_total{app=\"shop\",code=\"5xx\"}";

std::string ErrorBurn(const std::string& range) {
  return std::string("(sum by (app) (rate(") + kAll5xx + "[" + range + "])) / sum by (app) (rate(" +
         kAllRequests + "[" + range + "]))) / 0.01";
}

std::string BurnPair(const std::string& burn_long, const std::string& burn_short,
                     const std::string& factor) {
  return "(" + burn_long + " > " + factor + ") and on (app) (" + burn_short + " > " + factor + ")";
}

spec::AppSpec SloSpec() {
  spec::AppSpec spec;
  spec.app = "shop";
  spec.slo.error_rate = 0.01;
  return spec;
}

TEST(LatencyBucketBound, TheNearestBoundTheLowerOfTwoAsNear) {
  EXPECT_EQ(LatencyBucketBound(100ms), 0.1);
  EXPECT_EQ(LatencyBucketBound(300ms), 0.25);
  EXPECT_EQ(LatencyBucketBound(400ms), 0.5);
  EXPECT_EQ(LatencyBucketBound(2500ms), 2.5);
  EXPECT_EQ(LatencyBucketBound(7ms), 0.005);
  EXPECT_EQ(LatencyBucketBound(1ms), 0.005);
  EXPECT_EQ(LatencyBucketBound(750ms), 0.5);  // as near to 0.5 as to 1: the lower
  EXPECT_EQ(LatencyBucketBound(60'000ms), 10);
}

TEST(BurnRateRulesPromQL, ErrorRateWithTheDefaultPairs) {
  const std::vector<PrometheusRule> rules = BurnRateRulesPromQL(SloSpec());
  ASSERT_EQ(rules.size(), 2u);  // one per severity
  EXPECT_EQ(rules[0].alert, "ErrorBudgetBurn");
  EXPECT_EQ(rules[0].labels,
            (std::map<std::string, std::string>{{"severity", "critical"}, {"slo", "error_rate"}}));
  EXPECT_EQ(rules[0].expr, BurnPair(ErrorBurn("1h"), ErrorBurn("5m"), "14.4") + " or on (app) " +
                               BurnPair(ErrorBurn("6h"), ErrorBurn("30m"), "6"));
  EXPECT_EQ(rules[0].for_duration, 0ms);
  EXPECT_EQ(rules[0].source,
            "error_rate critical: burn_rate(1h) > 14.4 and burn_rate(5m) > 14.4 or "
            "burn_rate(6h) > 6 and burn_rate(30m) > 6");
  EXPECT_EQ(rules[0].annotations.at("summary"),
            "shop: the error_rate error budget burns too fast (alert above 14.4x over 1h and 5m, "
            "or 6x over 6h and 30m)");
  EXPECT_EQ(rules[0].annotations.at("description"),
            "burn rate {{ printf \"%.3g\" $value }}x over the long window of the first pair "
            "above its rate (alert above 14.4x over 1h and 5m, or 6x over 6h and 30m); "
            "objective: 99% of requests without a 5xx answer");
  EXPECT_EQ(rules[1].labels,
            (std::map<std::string, std::string>{{"severity", "warning"}, {"slo", "error_rate"}}));
  EXPECT_EQ(rules[1].expr, BurnPair(ErrorBurn("24h"), ErrorBurn("2h"), "3") + " or on (app) " +
                               BurnPair(ErrorBurn("72h"), ErrorBurn("6h"), "1"));
}

TEST(BurnRateRulesPromQL, LatencyFromTheBucketNearestTheThreshold) {
  spec::AppSpec spec = SloSpec();
  spec.slo.error_rate.reset();
  spec.slo.latency = spec::LatencyObjective{.percentile = 95, .target = 0.95, .threshold = 300ms};
  spec.alerts.builtin.error_budget_burn.windows = {{3600s, 300s, 14.4, "critical"}};
  const std::vector<PrometheusRule> rules = BurnRateRulesPromQL(spec);
  ASSERT_EQ(rules.size(), 1u);
  auto burn = [](const std::string& range) {
    return "(1 - sum by (app) (rate(slipway_http_request_duration_seconds_bucket{app=\"shop\","
           "le=\"0.25\"}[" +
           range +
           "])) / sum by (app) (rate(slipway_http_request_duration_seconds_count{app=\"shop\"}[" +
           range + "]))) / 0.05";
  };
  EXPECT_EQ(rules[0].expr, BurnPair(burn("1h"), burn("5m"), "14.4"));
  EXPECT_EQ(rules[0].labels.at("slo"), "latency");
  EXPECT_EQ(rules[0].source,
            "latency critical: burn_rate(1h) > 14.4 and burn_rate(5m) > 14.4 (slow: above "
            "le=\"0.25\", the bucket bound nearest 300ms)");
  // One pair: the description names its windows, as Slipway's does.
  EXPECT_EQ(rules[0].annotations.at("description"),
            "burn rate {{ printf \"%.3g\" $value }}x over 1h, and above 14.4x over 5m (alert "
            "above 14.4x); objective: 95% of requests within 300ms (p95)");
}

TEST(BurnRateRulesPromQL, AvailabilityByWholeMinutesWithACustomPair) {
  spec::AppSpec spec = SloSpec();
  spec.slo.error_rate.reset();
  spec.slo.availability = spec::AvailabilityObjective{.target = 0.999, .minute_error_rate = 0.05};
  spec.alerts.builtin.error_budget_burn.windows = {{120s, 10s, 2.5, "page"}};
  spec.alerts.builtin.error_budget_burn.for_duration = 30'000ms;
  const std::vector<PrometheusRule> rules = BurnRateRulesPromQL(spec);
  ASSERT_EQ(rules.size(), 1u);
  auto burn = [](const std::string& minutes) {
    return std::string(
               "(avg_over_time((max by (app) ((min_over_time((sum by (app) "
               "(slipway_replica_ready{app=\"shop\"}))[1m:]) < bool 1) or label_replace(sum by "
               "(app) (increase(") +
           kAll5xx + "[1m])) / sum by (app) (increase(" + kAllRequests +
           "[1m])) > bool 0.05 and on (app) sum by (app) (slipway_replica_ready{app=\"shop\"}), "
           "\"part\", \"5xx\", \"\", \"\")))[" +
           minutes + ":1m])) / 0.001";
  };
  // 10s is within one minute: the last whole minute.
  EXPECT_EQ(rules[0].expr, BurnPair(burn("2m"), burn("1m"), "2.5"));
  EXPECT_EQ(rules[0].labels,
            (std::map<std::string, std::string>{{"severity", "page"}, {"slo", "availability"}}));
  EXPECT_EQ(rules[0].for_duration, 30'000ms);
  EXPECT_EQ(rules[0].source,
            "availability page: burn_rate(2m) > 2.5 and burn_rate(10s) > 2.5 for 30s");
  EXPECT_EQ(rules[0].annotations.at("summary"),
            "shop: the availability error budget burns too fast (alert above 2.5x over 2m and "
            "10s)");
}

TEST(BurnRateRulesPromQL, OnePerObjectiveAndSeverityInSlipwaysOrder) {
  spec::AppSpec spec = SloSpec();
  spec.slo.availability = spec::AvailabilityObjective{};
  spec.slo.latency = spec::LatencyObjective{};
  spec.alerts.builtin.error_budget_burn.windows = {
      {60s, 10s, 14.4, "critical"}, {600s, 60s, 3, "warning"}, {300s, 30s, 6, "critical"}};
  const std::vector<PrometheusRule> rules = BurnRateRulesPromQL(spec);
  std::vector<std::pair<std::string, std::string>> seen;
  for (const PrometheusRule& r : rules)
    seen.emplace_back(r.labels.at("slo"), r.labels.at("severity"));
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{{"availability", "critical"},
                                                                    {"availability", "warning"},
                                                                    {"latency", "critical"},
                                                                    {"latency", "warning"},
                                                                    {"error_rate", "critical"},
                                                                    {"error_rate", "warning"}}));
  // The critical pairs in the order written, the warning one apart.
  EXPECT_EQ(rules[4].expr, BurnPair(ErrorBurn("1m"), ErrorBurn("10s"), "14.4") + " or on (app) " +
                               BurnPair(ErrorBurn("5m"), ErrorBurn("30s"), "6"));
  EXPECT_EQ(rules[5].expr, BurnPair(ErrorBurn("10m"), ErrorBurn("1m"), "3"));
}

TEST(BurnRateRulesPromQL, NoneWhenTurnedOffOrWithoutAnSlo) {
  spec::AppSpec spec = SloSpec();
  spec.alerts.builtin.error_budget_burn.enabled = false;
  EXPECT_TRUE(BurnRateRulesPromQL(spec).empty());
  spec = SloSpec();
  spec.slo = {};
  EXPECT_TRUE(BurnRateRulesPromQL(spec).empty());
  const std::string text = RuleFileYaml(ExportRuleGroup(spec), "spec.yaml");
  EXPECT_EQ(text.find("ErrorBudgetBurn"), std::string::npos) << text;
}

TEST(ExportRuleGroup, ErrorBudgetBurnAfterTheBuiltinRulesBeforeTheUsers) {
  spec::AppSpec spec = SloSpec();
  spec.alerts = Config();
  const PrometheusRuleGroup group = ExportRuleGroup(spec);
  std::vector<std::string> names;
  for (const PrometheusRule& r : group.rules) names.push_back(r.alert);
  EXPECT_EQ(names,
            (std::vector<std::string>{"HighErrorRate", "CrashLooping", "DeployFailed", "RolledBack",
                                      "ErrorBudgetBurn", "ErrorBudgetBurn", "SlowCheckout"}));
  const std::string text = RuleFileYaml(group, "spec.yaml");
  // The file says where the burn-rate rules differ from Slipway's.
  EXPECT_NE(text.find("# - ErrorBudgetBurn counts what Slipway's SLOs count"), std::string::npos)
      << text;
  YAML::Node file = YAML::Load(text);
  EXPECT_EQ(file["groups"][0]["rules"][4]["labels"]["slo"].as<std::string>(), "error_rate");
  EXPECT_EQ(file["groups"][0]["rules"][4]["expr"].as<std::string>(), group.rules[4].expr);
}

}  // namespace
}  // namespace slipway::monitoring
