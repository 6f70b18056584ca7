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

// The error-budget burn-rate rules of the app's SLOs (multi-window, multi-burn-rate, as in the
// SRE workbook): none yet. Slipway has no `slo:` section in this slice; once it has, this is the
// one place to translate each SLO into its ErrorBudgetBurn rules (fast: 1h and 5m windows at
// 14.4x the budget rate; slow: 6h and 30m at 6x), over the same series as MetricPromQL.
std::vector<PrometheusRule> BurnRateRulesPromQL(const spec::AppSpec& spec);

// Every rule Slipway evaluates for the app, as one group named "slipway-APP".
PrometheusRuleGroup ExportRuleGroup(const spec::AppSpec& spec);

// The group as a Prometheus rule file (YAML: groups: - name: ... rules: - alert: ...), with a
// comment that says where it came from (`origin`, e.g. "release 3 of hello") and SemanticNotes.
std::string RuleFileYaml(const PrometheusRuleGroup& group, const std::string& origin);

}  // namespace slipway::monitoring
