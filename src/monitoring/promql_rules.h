// PromQL translation of an app's alert rules: the built-in rules that are on (with the spec's
// thresholds, windows, `for` and severities) and the user's rules, as Prometheus alerting rules
// over the series of Slipway's /metrics page (docs/metrics.md). Pure: no I/O, no daemon.
//
// Every metric function of the expression language has one translation over the app's series,
// aggregated `sum by (app)` so that both sides of `and` / `or` carry the same labels and match:
//
//   error_rate(5m) > 5%   ->  sum by (app) (rate(slipway_http_requests_total{app="A",
//                               release!="none",code="5xx"}[5m])) / sum by (app) (rate(
//                               slipway_http_requests_total{app="A",release!="none"}[5m])) > 0.05
//
// Where Prometheus cannot do what Slipway does (Slipway judges the serving release only, keeps
// an unknown condition's state, counts stored replica exits), the translation is the closest
// query and kSemanticNotes says how it differs; docs/alerts.md#export has the same list.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alert_expr.h"
#include "common/duration.h"
#include "slo/slo_objective.h"
#include "spec/app_spec.h"

namespace slipway::monitoring {

// One Prometheus alerting rule (a `rules:` entry of a rule file).
struct PrometheusRule {
  std::string alert;
  std::string expr;  // PromQL
  Millis for_duration{0};
  std::map<std::string, std::string> labels;       // severity and the rule's own labels
  std::map<std::string, std::string> annotations;  // Prometheus templates
  std::string source;  // what Slipway evaluates, for the file's comment: the expression
};

struct PrometheusRuleGroup {
  std::string app;
  std::string name;  // "slipway-APP"
  std::vector<PrometheusRule> rules;
};

// The differences between Slipway's evaluation and the exported rules, one line each, for the
// comment at the top of the rule file.
std::span<const std::string_view> SemanticNotes();

// "5m", "1h30m", "1s500ms": a duration as Prometheus writes it (no fractions).
std::string PrometheusDuration(Millis d);

// The PromQL for one metric function over `window`, for `app`: a vector labelled {app} only,
// empty where the function has no value (an error rate without requests).
std::string MetricPromQL(const std::string& app, alerts::AlertMetric metric,
                         std::chrono::seconds window);
// `metric(window) op threshold` in PromQL (threshold in the metric's unit: a share, seconds).
std::string ComparisonPromQL(const std::string& app, const alerts::Comparison& comparison);
// A whole condition: comparisons joined by `and on (app)` / `or on (app)`, parenthesised as
// the expression was. Requires expr.ok().
std::string ExprPromQL(const std::string& app, const alerts::AlertExpr& expr);

// A Slipway annotation (where {{ $value }} is the deciding comparison's value in its unit and
// {{ $labels.NAME }} a label) as a Prometheus template: $value is humanised in `unit` (nullopt:
// as is), labels Prometheus does not have on the query's result (alertname, the rule's own) are
// written out from `static_labels`, and any other `{{` is escaped, as Slipway leaves it as
// written.
std::string PrometheusTemplate(const std::string& text,
                               const std::map<std::string, std::string>& static_labels,
                               std::optional<alerts::MetricUnit> unit);

// The unit {{ $value }} has for this condition in Prometheus (where `a and b` has a's value and
// `a or b` the first side present), when every comparison that can give the value has the same
// unit; else nullopt.
std::optional<alerts::MetricUnit> ValueUnit(const alerts::AlertExpr& expr);

// The built-in rules that are on, then the user's rules, in Slipway's order.
std::vector<PrometheusRule> AlertRulesPromQL(const std::string& app,
                                             const spec::AlertsConfig& config);

// The ErrorBudgetBurn rules of the app's SLOs (multiwindow, multi-burn-rate, as in the SRE
// workbook), as Slipway evaluates its rule (alerts::BuildAlertRules with the spec's `slo`): one
// alert per objective and severity, with labels slo and severity, that severity's window pairs
// joined by `or on (app)`, each pair `(burn(long) > factor) and on (app) (burn(short) > factor)`;
// none when `error_budget_burn: false` or without objectives. Burn rates are computed by
// Prometheus from the raw series (SloBadSharePromQL), not read from slipway_slo_*.
std::vector<PrometheusRule> BurnRateRulesPromQL(const spec::AppSpec& spec);

// The share of bad events of `objective` over `window`, for `app`, over every request of the
// app (release="none" included, as Slipway's SLO counts): error_rate the 5xx share; latency the
// share above the bucket bound nearest the threshold (LatencyBucketBound); availability the
// share of bad minutes among the ceil(window / 1m) whole minutes ended (a subquery at 1m steps).
std::string SloBadSharePromQL(const std::string& app, const slo::Objective& objective,
                              std::chrono::seconds window);
// SloBadSharePromQL / (1 - target).
std::string BurnRatePromQL(const std::string& app, const slo::Objective& objective,
                           std::chrono::seconds window);
// The bound of slipway_http_request_duration_seconds nearest `threshold` (the lower of two as
// near), in seconds.
double LatencyBucketBound(std::chrono::milliseconds threshold);
// The notes added to SemanticNotes in a file with ErrorBudgetBurn rules.
std::span<const std::string_view> SloSemanticNotes();

// Every rule Slipway evaluates for the app, as one group named "slipway-APP", in Slipway's
// order: the built-in rules, ErrorBudgetBurn last of them, then the user's.
PrometheusRuleGroup ExportRuleGroup(const spec::AppSpec& spec);

// The group as a Prometheus rule file (YAML: groups: - name: ... rules: - alert: ...), with a
// comment that says where it came from (`origin`, e.g. "release 3 of hello") and SemanticNotes
// (and SloSemanticNotes when it has ErrorBudgetBurn rules).
std::string RuleFileYaml(const PrometheusRuleGroup& group, const std::string& origin);

}  // namespace slipway::monitoring
