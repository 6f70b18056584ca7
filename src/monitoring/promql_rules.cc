#include "monitoring/promql_rules.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "alerts/alert_rules.h"
#include "alerts/builtin_names.h"
#include "metrics/request_counters.h"
#include "slo/slo_objective.h"

namespace slipway::monitoring {
namespace {

using alerts::AlertMetric;
using alerts::MetricUnit;

constexpr std::string_view kNotes[] = {
    "Slipway judges the app's serving release only; these rules sum every release of the app "
    "(a canary's requests count too), except release=\"none\" (answers without a backend).",
    "No data: in Slipway a comparison without data (an error rate or latency over a window "
    "without requests) is unknown and changes no alert; here it has no value, so the condition "
    "is false and a firing alert resolves.",
    "rate() and increase() extrapolate to the window's edges: counts need not be whole numbers, "
    "and the first increase of a series (a new release's first requests) shows after its second "
    "sample.",
    "Latency quantiles: Slipway's window has 25%-wide buckets; /metrics has 11 buckets "
    "(5ms to 10s), within which histogram_quantile interpolates linearly, and above 10s it "
    "answers 10s.",
    "replica_restarts reads the restart counters of the replicas that exist now; Slipway counts "
    "the stored exits of every replica, removed ones included.",
    "DeployFailed and RolledBack are one alert per app here, firing while the counter rose "
    "within resolve_after; Slipway has one alert per release.",
};

constexpr std::string_view kSloNotes[] = {
    "ErrorBudgetBurn counts what Slipway's SLOs count: every request to the app, of every "
    "release and the proxy's own answers (release=\"none\", its 503s) included.",
    "ErrorBudgetBurn windows: Slipway sums windows of up to 10m second by second and longer ones "
    "by whole minutes; here a request-based window is rate() over the range.",
    "ErrorBudgetBurn, latency: /metrics has no slow-request counter, so the share of slow "
    "requests is read from the duration histogram, above the bucket bound nearest the threshold "
    "(the rule's comment names it); between that bound and the threshold a request counts on "
    "the other side than in Slipway, which counts against the threshold exactly.",
    "ErrorBudgetBurn, availability: a subquery at 1m steps judges each whole minute ended "
    "(ceil(W / 1m) of them, one more when the evaluation falls on a minute's start, as "
    "Prometheus 2's subquery ranges include both ends; Slipway counts the current minute so far "
    "too): bad when the app's "
    "ready replicas (slipway_replica_ready, summed) were 0 at any step of an inner subquery at "
    "the evaluation interval (Slipway looks every second), or its 5xx share was above "
    "minute_error_rate. Minutes without replica series are not counted; Slipway also leaves out "
    "those before the app's first release served, which count as down here.",
};

// The shortest decimal that reads back as `value`: 0.05, 100, 2.5.
std::string Number(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : fmt::format("{}", value);
}

std::string Quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// slipway_http_requests_total{app="A",release!="none"[,more]}: the requests an app's releases
// answered (the proxy's own answers without a backend are release="none").
std::string Requests(const std::string& app, std::string_view more = {}) {
  return fmt::format("slipway_http_requests_total{{app={},release!=\"none\"{}}}", Quoted(app),
                     more);
}

std::string Range(std::chrono::seconds window) {
  return "[" + PrometheusDuration(std::chrono::duration_cast<Millis>(window)) + "]";
}

const char* OpText(alerts::CompareOp op) {
  switch (op) {
    case alerts::CompareOp::kGreater:
      return ">";
    case alerts::CompareOp::kGreaterEqual:
      return ">=";
    case alerts::CompareOp::kLess:
      return "<";
    case alerts::CompareOp::kLessEqual:
      return "<=";
    case alerts::CompareOp::kEqual:
      return "==";
    case alerts::CompareOp::kNotEqual:
      return "!=";
  }
  return ">";
}

double Quantile(AlertMetric metric) {
  switch (metric) {
    case AlertMetric::kLatencyP50:
      return 0.5;
    case AlertMetric::kLatencyP90:
      return 0.9;
    case AlertMetric::kLatencyP95:
      return 0.95;
    default:
      return 0.99;
  }
}

// A literal piece of a Go template: `{{` starts an action, so write it as an action that prints
// it; a trailing `{` would start one with the `{{` of a following action.
std::string TemplateText(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && (i + 1 == text.size() || text[i + 1] == '{')) {
      out += i + 1 == text.size() ? "{{ \"{\" }}" : "{{ \"{{\" }}";
      if (i + 1 < text.size()) ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string ValueTemplate(std::optional<MetricUnit> unit) {
  if (!unit) return "{{ $value }}";
  switch (*unit) {
    case MetricUnit::kShare:
      return "{{ $value | humanizePercentage }}";
    case MetricUnit::kSeconds:
      return "{{ $value | humanizeDuration }}";
    case MetricUnit::kPerSecond:
      return "{{ $value | humanize }}/s";
    case MetricUnit::kCount:
      break;
  }
  return "{{ printf \"%.0f\" $value }}";
}

std::string WindowText(std::chrono::seconds window) {
  return FormatDuration(std::chrono::duration_cast<Millis>(window));
}

// The built-in rules' annotations, as Slipway writes them, with the value from Prometheus.
std::map<std::string, std::string> BuiltinAnnotations(const std::string& app,
                                                      const alerts::AlertRule& rule) {
  std::map<std::string, std::string> out;
  const std::string resolve = FormatDuration(rule.resolve_after);
  if (rule.kind == alerts::AlertRule::Kind::kDeployFailed) {
    out["summary"] = fmt::format("{}: a release failed to deploy", app);
    out["description"] = fmt::format(
        "{{{{ printf \"%.0f\" $value }}}} release(s) of {} failed to deploy in the last {}; the "
        "serving release was kept or brought back (slipway releases {})",
        app, resolve, app);
    return out;
  }
  if (rule.kind == alerts::AlertRule::Kind::kRolledBack) {
    out["summary"] = fmt::format("{}: rolled back, or a rollout was aborted", app);
    out["description"] = fmt::format(
        "a `slipway rollback` or an aborted canary / blue-green rollout of {} in the last {}", app,
        resolve);
    return out;
  }
  const std::vector<alerts::Comparison> comparisons = rule.expr.Comparisons();
  if (comparisons.empty()) return out;
  const alerts::Comparison& c = comparisons.front();
  const std::string window = WindowText(c.window);
  const std::string threshold = alerts::FormatMetricValue(c.metric, c.threshold);
  const std::string value = ValueTemplate(alerts::AlertMetricUnit(c.metric));
  if (rule.name == alerts::kHighErrorRate) {
    out["summary"] =
        fmt::format("{}: more than {} of requests fail (5xx) over {}", app, threshold, window);
    out["description"] =
        fmt::format("{} of the requests to {} answered 5xx over the last {}", value, app, window);
  } else if (rule.name == alerts::kHighLatency) {
    out["summary"] = fmt::format("{}: p95 latency above {} over {}", app, threshold, window);
    out["description"] =
        fmt::format("the 95th percentile of {} took {} over the last {}", app, value, window);
  } else if (rule.name == alerts::kCrashLooping) {
    out["summary"] = fmt::format("{}: replicas keep crashing", app);
    out["description"] = fmt::format("{} replica exits of {} in the last {} (alert at {})", value,
                                     app, window, threshold);
  }
  return out;
}

// One event counter's rise within `range`, per app: the event rules' condition.
std::string Rose(const std::string& selector, Millis range) {
  return fmt::format("sum by (app) (increase({}[{}])) > 0", selector, PrometheusDuration(range));
}

}  // namespace

std::span<const std::string_view> SemanticNotes() { return kNotes; }
std::span<const std::string_view> SloSemanticNotes() { return kSloNotes; }

std::string PrometheusDuration(Millis d) {
  std::int64_t ms = d.count();
  if (ms <= 0) return "0s";
  std::string out;
  for (auto [unit, size] : {std::pair{"h", 3'600'000LL}, std::pair{"m", 60'000LL},
                            std::pair{"s", 1'000LL}, std::pair{"ms", 1LL}}) {
    if (ms >= size) {
      out += std::to_string(ms / size) + unit;
      ms %= size;
    }
  }
  return out;
}

std::string MetricPromQL(const std::string& app, AlertMetric metric, std::chrono::seconds window) {
  const std::string range = Range(window);
  switch (metric) {
    case AlertMetric::kRequests:
      return fmt::format("sum by (app) (increase({}{}))", Requests(app), range);
    case AlertMetric::kErrors:
      return fmt::format("sum by (app) (increase({}{}))", Requests(app, ",code=\"5xx\""), range);
    case AlertMetric::kErrorRate:
      return fmt::format("sum by (app) (rate({}{})) / sum by (app) (rate({}{}))",
                         Requests(app, ",code=\"5xx\""), range, Requests(app), range);
    case AlertMetric::kRequestRate:
      return fmt::format("sum by (app) (rate({}{}))", Requests(app), range);
    case AlertMetric::kLatencyP50:
    case AlertMetric::kLatencyP90:
    case AlertMetric::kLatencyP95:
    case AlertMetric::kLatencyP99:
      return fmt::format(
          "histogram_quantile({}, sum by (app, le) (rate(slipway_http_request_duration_seconds_"
          "bucket{{app={},release!=\"none\"}}{})))",
          Number(Quantile(metric)), Quoted(app), range);
    case AlertMetric::kReplicaRestarts:
      // Slipway counts 0 when no replica exited; without the `or`, an app without replica
      // series would have no value at all.
      return fmt::format(
          "(sum by (app) (increase(slipway_replica_restarts_total{{app={}}}{})) or "
          "label_replace(vector(0), \"app\", {}, \"\", \"\"))",
          Quoted(app), range, Quoted(app));
  }
  return "";
}

std::string ComparisonPromQL(const std::string& app, const alerts::Comparison& comparison) {
  return fmt::format("{} {} {}", MetricPromQL(app, comparison.metric, comparison.window),
                     OpText(comparison.op), Number(comparison.threshold));
}

std::string ExprPromQL(const std::string& app, const alerts::AlertExpr& expr) {
  struct Part {
    std::string text;
    enum class Kind { kCompare, kAnd, kOr } kind = Kind::kCompare;
  };
  const Part whole = expr.Fold<Part>(
      [&app](const alerts::Comparison& c) { return Part{ComparisonPromQL(app, c)}; },
      [](bool is_and, Part left, Part right) {
        // In a join, each comparison is parenthesised for people; an `or` under an `and` needs
        // it (in PromQL as in Slipway, `and` binds tighter).
        auto side = [is_and](const Part& p) {
          const bool wrap = p.kind == Part::Kind::kCompare || (is_and && p.kind == Part::Kind::kOr);
          return wrap ? "(" + p.text + ")" : p.text;
        };
        return Part{side(left) + (is_and ? " and on (app) " : " or on (app) ") + side(right),
                    is_and ? Part::Kind::kAnd : Part::Kind::kOr};
      });
  return whole.text;
}

std::optional<MetricUnit> ValueUnit(const alerts::AlertExpr& expr) {
  using Units = std::vector<MetricUnit>;
  const Units units = expr.Fold<Units>(
      [](const alerts::Comparison& c) { return Units{alerts::AlertMetricUnit(c.metric)}; },
      [](bool is_and, Units left, Units right) {
        if (!is_and) left.insert(left.end(), right.begin(), right.end());
        return left;
      });
  for (MetricUnit u : units) {
    if (u != units.front()) return std::nullopt;
  }
  if (units.empty()) return std::nullopt;
  return units.front();
}

std::string PrometheusTemplate(const std::string& text,
                               const std::map<std::string, std::string>& static_labels,
                               std::optional<MetricUnit> unit) {
  std::string out;
  alerts::ScanTemplate(
      text, [&out](std::string_view literal) { out += TemplateText(literal); },
      [&](const std::string& inner, std::string_view whole) {
        if (inner == "$value") {
          out += ValueTemplate(unit);
        } else if (inner == "$labels.app") {
          out += "{{ $labels.app }}";
        } else if (inner.starts_with("$labels.")) {
          // Only `app` is on the query's result; the others are the rule's, known now (and a
          // label Slipway does not have is empty there too).
          auto it = static_labels.find(inner.substr(8));
          if (it != static_labels.end()) out += TemplateText(it->second);
        } else {
          out += TemplateText(whole);
        }
      });
  return out;
}

std::vector<PrometheusRule> AlertRulesPromQL(const std::string& app,
                                             const spec::AlertsConfig& config) {
  std::vector<PrometheusRule> out;
  for (const alerts::AlertRule& rule : alerts::BuildAlertRules(config)) {
    PrometheusRule p;
    p.alert = rule.name;
    p.for_duration = rule.for_duration;
    for (const auto& [key, value] : rule.labels) p.labels[key] = TemplateText(value);
    p.source = rule.Describe();
    switch (rule.kind) {
      case alerts::AlertRule::Kind::kExpression:
        p.expr = ExprPromQL(app, rule.expr);
        if (rule.for_duration.count() > 0) p.source += " for " + FormatDuration(rule.for_duration);
        break;
      case alerts::AlertRule::Kind::kDeployFailed:
        p.expr =
            Rose(fmt::format("slipway_deploys_total{{app={},outcome=\"failed\"}}", Quoted(app)),
                 rule.resolve_after);
        break;
      case alerts::AlertRule::Kind::kRolledBack:
        p.expr = fmt::format(
            "({}) or on (app) ({})",
            Rose(fmt::format("slipway_rollbacks_total{{app={}}}", Quoted(app)), rule.resolve_after),
            Rose(fmt::format("slipway_deploys_total{{app={},outcome=\"aborted\"}}", Quoted(app)),
                 rule.resolve_after));
        break;
      case alerts::AlertRule::Kind::kErrorBudgetBurn:
        continue;  // not without the spec's `slo` (never here): BurnRateRulesPromQL
    }
    if (rule.builtin) {
      p.annotations = BuiltinAnnotations(app, rule);
    } else {
      std::map<std::string, std::string> labels = rule.labels;
      labels["alertname"] = rule.name;
      const std::optional<MetricUnit> unit = ValueUnit(rule.expr);
      for (const auto& [key, text] : rule.annotations) {
        p.annotations[key] = PrometheusTemplate(text, labels, unit);
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

double LatencyBucketBound(std::chrono::milliseconds threshold) {
  const double seconds = std::chrono::duration<double>(threshold).count();
  double best = metrics::kDurationBounds.front();
  for (double bound : metrics::kDurationBounds) {
    // The nearest; of two as near, the lower (more requests count as slow: an earlier alert).
    if (std::abs(bound - seconds) < std::abs(best - seconds)) best = bound;
  }
  return best;
}

std::string SloBadSharePromQL(const std::string& app, const slo::Objective& objective,
                              std::chrono::seconds window) {
  const std::string all = fmt::format("slipway_http_requests_total{{app={}}}", Quoted(app));
  const std::string errors =
      fmt::format("slipway_http_requests_total{{app={},code=\"5xx\"}}", Quoted(app));
  switch (objective.kind) {
    case slo::SloKind::kErrorRate:
      return fmt::format("sum by (app) (rate({}{})) / sum by (app) (rate({}{}))", errors,
                         Range(window), all, Range(window));
    case slo::SloKind::kLatency:
      return fmt::format(
          "1 - sum by (app) (rate(slipway_http_request_duration_seconds_bucket{{app={},le=\"{}\"}}"
          "{})) / sum by (app) (rate(slipway_http_request_duration_seconds_count{{app={}}}{}))",
          Quoted(app), Number(LatencyBucketBound(objective.threshold)), Range(window), Quoted(app),
          Range(window));
    case slo::SloKind::kAvailability:
      break;
  }
  // Availability: the share of bad minutes among the whole minutes of the window. A minute
  // (at a 1m step of the outer subquery) is bad (1) when no replica was ready at some step of
  // the inner one, or (a second series, labelled apart so that `or` keeps both) its 5xx share
  // was above minute_error_rate; without requests that share is NaN, and NaN > x is 0. Only
  // minutes with replica series count (Slipway does not count a stopped app's minutes).
  const std::int64_t minutes = (window.count() + 59) / 60;
  return fmt::format(
      "avg_over_time((max by (app) ((min_over_time((sum by (app) (slipway_replica_ready{{app={}}}"
      "))[1m:]) < bool 1) or label_replace(sum by (app) (increase({}[1m])) / sum by (app) "
      "(increase({}[1m])) > bool {} and on (app) sum by (app) (slipway_replica_ready{{app={}}}), "
      "\"part\", \"5xx\", \"\", \"\")))[{}:1m])",
      Quoted(app), errors, all, Number(objective.minute_error_rate), Quoted(app),
      PrometheusDuration(Millis(minutes * 60'000)));
}

std::string BurnRatePromQL(const std::string& app, const slo::Objective& objective,
                           std::chrono::seconds window) {
  // 1 - target, without the binary noise of the subtraction (1 - 0.99 is 0.010000000000000009).
  const double budget = std::stod(fmt::format("{:.12g}", objective.budget()));
  return fmt::format("({}) / {}", SloBadSharePromQL(app, objective, window), Number(budget));
}

std::vector<PrometheusRule> BurnRateRulesPromQL(const spec::AppSpec& spec) {
  std::vector<PrometheusRule> out;
  for (const alerts::AlertRule& rule : alerts::BuildAlertRules(spec.alerts, spec.slo)) {
    if (rule.kind != alerts::AlertRule::Kind::kErrorBudgetBurn) continue;
    // As Slipway evaluates it: one alert per objective and severity (in the order the
    // severities first appear), that severity's pairs joined by `or`.
    const std::vector<std::string> severities = rule.BurnSeverities();
    for (const slo::Objective& objective : rule.objectives) {
      const std::string slo = slo::SloKindName(objective.kind);
      for (const std::string& severity : severities) {
        std::vector<const spec::BurnRateWindow*> pairs;
        for (const spec::BurnRateWindow& w : rule.burn_windows) {
          if (w.severity == severity) pairs.push_back(&w);
        }
        std::vector<std::string> exprs, shown, source;
        for (const spec::BurnRateWindow* w : pairs) {
          const std::string factor = Number(w->burn_rate);
          exprs.push_back(fmt::format("({} > {}) and on (app) ({} > {})",
                                      BurnRatePromQL(spec.app, objective, w->long_window), factor,
                                      BurnRatePromQL(spec.app, objective, w->short_window),
                                      factor));
          shown.push_back(fmt::format("{}x over {} and {}", factor, WindowText(w->long_window),
                                      WindowText(w->short_window)));
          source.push_back(fmt::format("burn_rate({}) > {} and burn_rate({}) > {}",
                                       WindowText(w->long_window), factor,
                                       WindowText(w->short_window), factor));
        }
        PrometheusRule p;
        p.alert = std::string(alerts::kErrorBudgetBurn);
        p.expr = fmt::format("{}", fmt::join(exprs, " or on (app) "));
        p.for_duration = rule.for_duration;
        p.labels = {{"severity", TemplateText(severity)}, {"slo", slo}};
        p.source = fmt::format("{} {}: {}", slo, severity, fmt::join(source, " or "));
        if (objective.kind == slo::SloKind::kLatency) {
          p.source += fmt::format(" (slow: above le=\"{}\", the bucket bound nearest {})",
                                  Number(LatencyBucketBound(objective.threshold)),
                                  FormatDuration(objective.threshold));
        }
        if (rule.for_duration.count() > 0) p.source += " for " + FormatDuration(rule.for_duration);
        // Slipway's annotations; its value is the deciding pair's long-window burn rate, as
        // $value is here (`a and b` has a's value, `a or b` the first side present).
        const std::string value = "{{ printf \"%.3g\" $value }}x";
        p.annotations["summary"] =
            fmt::format("{}: the {} error budget burns too fast (alert above {})", spec.app, slo,
                        fmt::join(shown, ", or "));
        p.annotations["description"] =
            pairs.size() == 1
                ? fmt::format(
                      "burn rate {} over {}, and above {}x over {} (alert above {}x); "
                      "objective: {}",
                      value, WindowText(pairs[0]->long_window), Number(pairs[0]->burn_rate),
                      WindowText(pairs[0]->short_window), Number(pairs[0]->burn_rate),
                      objective.Describe())
                : fmt::format(
                      "burn rate {} over the long window of the first pair above its "
                      "rate (alert above {}); objective: {}",
                      value, fmt::join(shown, ", or "), objective.Describe());
        out.push_back(std::move(p));
      }
    }
  }
  return out;
}

PrometheusRuleGroup ExportRuleGroup(const spec::AppSpec& spec) {
  PrometheusRuleGroup group;
  group.app = spec.app;
  group.name = "slipway-" + spec.app;
  group.rules = AlertRulesPromQL(spec.app, spec.alerts);
  // In Slipway's order: the built-in rules (ErrorBudgetBurn last of them), then the user's.
  const std::size_t builtin = group.rules.size() - spec.alerts.rules.size();
  std::vector<PrometheusRule> burn = BurnRateRulesPromQL(spec);
  group.rules.insert(group.rules.begin() + static_cast<std::ptrdiff_t>(builtin),
                     std::make_move_iterator(burn.begin()), std::make_move_iterator(burn.end()));
  return group;
}

std::string RuleFileYaml(const PrometheusRuleGroup& group, const std::string& origin) {
  // Scalars are written as JSON strings, which YAML reads as double-quoted scalars; the
  // expressions as literal blocks, as Prometheus's own examples do.
  auto scalar = [](const std::string& s) { return nlohmann::json(s).dump(); };
  std::string out = fmt::format(
      "# Prometheus alerting rules of the Slipway app {}, from {}, written by\n"
      "# `slipway export prometheus-rules`. They read Slipway's /metrics (slipway daemon\n"
      "# --metrics-listen); load them with rule_files and check them with\n"
      "# `promtool check rules`. Where they differ from Slipway's own evaluation:\n",
      group.app, origin);
  std::vector<std::string_view> notes(SemanticNotes().begin(), SemanticNotes().end());
  const bool burn = std::any_of(group.rules.begin(), group.rules.end(),
                                [](const auto& r) { return r.alert == alerts::kErrorBudgetBurn; });
  if (burn) notes.insert(notes.end(), SloSemanticNotes().begin(), SloSemanticNotes().end());
  for (std::string_view note : notes) {
    // Wrapped at 96 columns, as a comment.
    std::string line = "# -";
    std::size_t start = 0;
    while (start < note.size()) {
      std::size_t end = note.find(' ', start);
      if (end == std::string_view::npos) end = note.size();
      const std::string_view word = note.substr(start, end - start);
      if (line.size() + 1 + word.size() > 96) {
        out += line + "\n";
        line = "#  ";
      }
      line += " ";
      line += word;
      start = end + 1;
    }
    out += line + "\n";
  }
  out += "groups:\n";
  out += "  - name: " + scalar(group.name) + "\n";
  out += "    rules:\n";
  if (group.rules.empty()) out.replace(out.size() - 1, 1, " []\n");
  for (const PrometheusRule& rule : group.rules) {
    out += "      # slipway: " + rule.source + "\n";
    out += "      - alert: " + rule.alert + "\n";
    out += "        expr: |-\n          " + rule.expr + "\n";
    if (rule.for_duration.count() > 0) {
      out += "        for: " + PrometheusDuration(rule.for_duration) + "\n";
    }
    for (auto [section, pairs] :
         {std::pair{"labels", &rule.labels}, std::pair{"annotations", &rule.annotations}}) {
      if (pairs->empty()) continue;
      out += fmt::format("        {}:\n", section);
      for (const auto& [key, value] : *pairs) {
        out += fmt::format("          {}: {}\n", key, scalar(value));
      }
    }
  }
  return out;
}

}  // namespace slipway::monitoring
