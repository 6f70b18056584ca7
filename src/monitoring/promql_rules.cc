#include "monitoring/promql_rules.h"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "alerts/alert_rules.h"
#include "alerts/builtin_names.h"

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

std::vector<PrometheusRule> BurnRateRulesPromQL(const spec::AppSpec& /*spec*/) { return {}; }

PrometheusRuleGroup ExportRuleGroup(const spec::AppSpec& spec) {
  PrometheusRuleGroup group;
  group.app = spec.app;
  group.name = "slipway-" + spec.app;
  group.rules = AlertRulesPromQL(spec.app, spec.alerts);
  for (PrometheusRule& rule : BurnRateRulesPromQL(spec)) group.rules.push_back(std::move(rule));
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
  for (std::string_view note : SemanticNotes()) {
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
