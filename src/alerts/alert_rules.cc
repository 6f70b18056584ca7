#include "alerts/alert_rules.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "alerts/builtin_names.h"
#include "common/duration.h"

namespace slipway::alerts {
namespace {

std::string WindowText(std::chrono::seconds window) {
  return FormatDuration(std::chrono::duration_cast<Millis>(window));
}

AlertRule ThresholdRule(std::string_view name, AlertMetric metric,
                        const spec::BuiltinThresholdAlert& spec) {
  AlertRule rule;
  rule.name = std::string(name);
  rule.builtin = true;
  rule.expr = AlertExpr::Single(Comparison{.metric = metric,
                                           .window = spec.window,
                                           .op = CompareOp::kGreater,
                                           .threshold = spec.threshold});
  rule.for_duration = spec.for_duration;
  rule.labels["severity"] = spec.severity;
  return rule;
}

// The built-in rules' annotations say what was measured, in words.
Labels BuiltinAnnotations(const AlertRule& rule, const std::string& app,
                          const std::optional<double>& value,
                          const std::optional<std::int64_t>& serving) {
  const std::vector<Comparison> comparisons = rule.expr.Comparisons();
  if (comparisons.empty()) return {};
  const Comparison& c = comparisons.front();
  const std::string window = WindowText(c.window);
  const std::string threshold = FormatMetricValue(c.metric, c.threshold);
  const std::string shown = value ? FormatMetricValue(c.metric, *value) : "unknown";
  const std::string release = serving ? fmt::format("release {}", *serving) : "the app";
  Labels out;
  if (rule.name == kHighErrorRate) {
    out["summary"] =
        fmt::format("{}: more than {} of requests fail (5xx) over {}", app, threshold, window);
    out["description"] = fmt::format("{} of the requests to {} of {} answered 5xx over the last {}",
                                     shown, release, app, window);
  } else if (rule.name == kHighLatency) {
    out["summary"] = fmt::format("{}: p95 latency above {} over {}", app, threshold, window);
    out["description"] = fmt::format("the 95th percentile of {} of {} took {} over the last {}",
                                     release, app, shown, window);
  } else if (rule.name == kCrashLooping) {
    out["summary"] = fmt::format("{}: replicas keep crashing", app);
    out["description"] = fmt::format("{} replica exits of {} in the last {} (alert at {})", shown,
                                     app, window, FormatMetricValue(c.metric, c.threshold));
  }
  return out;
}

std::string TrimSpaces(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

void ScanTemplate(
    std::string_view text, const std::function<void(std::string_view)>& literal,
    const std::function<void(const std::string& inner, std::string_view whole)>& action) {
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find("{{", i);
    const std::size_t close = open == std::string::npos ? open : text.find("}}", open + 2);
    if (open == std::string::npos || close == std::string::npos) {
      literal(text.substr(i));
      return;
    }
    literal(text.substr(i, open - i));
    action(TrimSpaces(text.substr(open + 2, close - open - 2)),
           text.substr(open, close + 2 - open));
    i = close + 2;
  }
}

std::string ExpandTemplate(const std::string& text, const Labels& labels,
                           const std::optional<double>& value,
                           const std::optional<AlertMetric>& metric) {
  std::string out;
  ScanTemplate(
      text, [&out](std::string_view literal) { out += literal; },
      [&](const std::string& inner, std::string_view whole) {
        if (inner == "$value") {
          out += value ? (metric ? FormatMetricValue(*metric, *value) : fmt::format("{}", *value))
                       : "unknown";
        } else if (inner.starts_with("$labels.")) {
          auto it = labels.find(inner.substr(8));
          if (it != labels.end()) out += it->second;
        } else {
          out += whole;
        }
      });
  return out;
}

namespace {

std::string BurnText(double burn_rate) { return fmt::format("{:.3g}x", burn_rate); }

struct PairResult {
  Truth truth = Truth::kUnknown;
  std::optional<double> long_burn;
  std::optional<double> short_burn;
};

// burn(long) > factor and burn(short) > factor, three-valued.
PairResult EvaluatePair(AppAlertFacts& facts, const slo::Objective& objective,
                        const spec::BurnRateWindow& pair) {
  PairResult r;
  r.long_burn = facts.BurnRate(objective, pair.long_window);
  r.short_burn = facts.BurnRate(objective, pair.short_window);
  auto above = [&](const std::optional<double>& v) {
    if (!v) return Truth::kUnknown;
    return *v > pair.burn_rate ? Truth::kTrue : Truth::kFalse;
  };
  const Truth a = above(r.long_burn);
  const Truth b = above(r.short_burn);
  if (a == Truth::kFalse || b == Truth::kFalse) {
    r.truth = Truth::kFalse;
  } else if (a == Truth::kTrue && b == Truth::kTrue) {
    r.truth = Truth::kTrue;
  }
  return r;
}

// One alert per objective and severity: the severity's pairs joined by `or`.
std::vector<AlertSample> EvaluateBurnRate(const AlertRule& rule, const std::string& app,
                                          const Labels& base, AppAlertFacts& facts) {
  std::vector<AlertSample> samples;
  const std::vector<std::string> severities = rule.BurnSeverities();
  for (const slo::Objective& objective : rule.objectives) {
    const std::string slo = slo::SloKindName(objective.kind);
    for (const std::string& severity : severities) {
      AlertSample sample;
      sample.labels = base;
      sample.labels["slo"] = slo;
      sample.labels["severity"] = severity;
      sample.truth = Truth::kFalse;
      bool any_unknown = false;
      const spec::BurnRateWindow* deciding = nullptr;
      PairResult decided;
      std::vector<std::string> pairs;
      for (const spec::BurnRateWindow& w : rule.burn_windows) {
        if (w.severity != severity) continue;
        pairs.push_back(fmt::format("{} over {} and {}", BurnText(w.burn_rate),
                                    WindowText(w.long_window), WindowText(w.short_window)));
        PairResult r = EvaluatePair(facts, objective, w);
        if (r.truth == Truth::kUnknown) any_unknown = true;
        const bool first_value = deciding == nullptr && r.long_burn.has_value();
        if ((r.truth == Truth::kTrue && sample.truth != Truth::kTrue) || first_value) {
          deciding = &w;
          decided = r;
        }
        if (r.truth == Truth::kTrue) sample.truth = Truth::kTrue;
      }
      if (sample.truth != Truth::kTrue && any_unknown) sample.truth = Truth::kUnknown;
      sample.value = decided.long_burn;
      sample.annotations["summary"] =
          fmt::format("{}: the {} error budget burns too fast (alert above {})", app, slo,
                      fmt::join(pairs, ", or "));
      if (deciding != nullptr) {
        auto shown = [](const std::optional<double>& v) { return v ? BurnText(*v) : "unknown"; };
        sample.annotations["description"] =
            fmt::format("burn rate {} over {} and {} over {} (alert above {}); objective: {}",
                        shown(decided.long_burn), WindowText(deciding->long_window),
                        shown(decided.short_burn), WindowText(deciding->short_window),
                        BurnText(deciding->burn_rate), objective.Describe());
      } else {
        sample.annotations["description"] =
            fmt::format("no traffic to judge by; objective: {}", objective.Describe());
      }
      samples.push_back(std::move(sample));
    }
  }
  return samples;
}

}  // namespace

bool AlertRule::uses_proxy_metrics() const {
  if (kind == Kind::kErrorBudgetBurn) return true;
  if (kind != Kind::kExpression) return false;
  for (const Comparison& c : expr.Comparisons()) {
    if (c.metric != AlertMetric::kReplicaRestarts) return true;
  }
  return false;
}

std::string AlertRule::Describe() const {
  switch (kind) {
    case Kind::kExpression:
      return expr.ToString();
    case Kind::kDeployFailed:
      return "a release failed to deploy (resolves after " + FormatDuration(resolve_after) + ")";
    case Kind::kRolledBack:
      return "a rollback or an aborted rollout (resolves after " + FormatDuration(resolve_after) +
             ")";
    case Kind::kErrorBudgetBurn: {
      std::vector<std::string> pairs;
      for (const spec::BurnRateWindow& w : burn_windows) {
        pairs.push_back(fmt::format("burn_rate({}) > {} and burn_rate({}) > {} ({})",
                                    WindowText(w.long_window), w.burn_rate,
                                    WindowText(w.short_window), w.burn_rate, w.severity));
      }
      return fmt::format("{}", fmt::join(pairs, " or "));
    }
  }
  return "";
}

std::vector<AlertSample> AlertRule::Evaluate(const std::string& app, AppAlertFacts& facts,
                                             WallTime now) const {
  Labels base = labels;
  base["alertname"] = name;
  base["app"] = app;
  std::vector<AlertSample> samples;
  if (kind == Kind::kExpression) {
    ExprResult result = expr.Evaluate(facts);
    AlertSample sample;
    sample.labels = std::move(base);
    sample.truth = result.truth;
    sample.value = result.value;
    sample.metric = result.metric;
    if (builtin) {
      sample.annotations = BuiltinAnnotations(*this, app, result.value, facts.serving_release());
    } else {
      for (const auto& [key, text] : annotations) {
        sample.annotations[key] = ExpandTemplate(text, sample.labels, result.value, result.metric);
      }
    }
    samples.push_back(std::move(sample));
    return samples;
  }
  if (kind == Kind::kErrorBudgetBurn) return EvaluateBurnRate(*this, app, base, facts);
  // An event alert holds from the event until resolve_after later: one instance per release.
  for (const ReleaseIncident& incident : facts.IncidentsSince(now - resolve_after)) {
    AlertSample sample;
    sample.labels = base;
    sample.labels["release"] = std::to_string(incident.release);
    sample.truth = Truth::kTrue;
    const WallTime at = incident.finished_at.value_or(incident.created_at);
    if (kind == Kind::kDeployFailed) {
      if (!incident.failed || at < now - resolve_after) continue;
      sample.annotations["summary"] =
          fmt::format("{}: release {} failed to deploy", app, incident.release);
      sample.annotations["description"] = incident.reason;
    } else {
      if (incident.rollback_of && incident.created_at >= now - resolve_after) {
        sample.annotations["summary"] = fmt::format("{}: release {} rolls back to release {}", app,
                                                    incident.release, *incident.rollback_of);
        sample.annotations["description"] =
            fmt::format("`slipway rollback` by {}", incident.created_by);
      } else if (incident.aborted && at >= now - resolve_after) {
        sample.annotations["summary"] =
            fmt::format("{}: the rollout of release {} was aborted; the previous release serves",
                        app, incident.release);
        sample.annotations["description"] = incident.reason;
      } else {
        continue;
      }
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::vector<std::string> AlertRule::BurnSeverities() const {
  std::vector<std::string> severities;
  for (const spec::BurnRateWindow& w : burn_windows) {
    if (std::find(severities.begin(), severities.end(), w.severity) == severities.end()) {
      severities.push_back(w.severity);
    }
  }
  return severities;
}

std::vector<AlertRule> BuildAlertRules(const spec::AlertsConfig& config, const spec::SloSpec& slo) {
  std::vector<AlertRule> rules;
  const spec::BuiltinAlerts& builtin = config.builtin;
  if (builtin.error_rate.enabled) {
    rules.push_back(ThresholdRule(kHighErrorRate, AlertMetric::kErrorRate, builtin.error_rate));
  }
  if (builtin.latency_p95.enabled) {
    rules.push_back(ThresholdRule(kHighLatency, AlertMetric::kLatencyP95, builtin.latency_p95));
  }
  if (builtin.crash_looping.enabled) {
    AlertRule rule;
    rule.name = std::string(kCrashLooping);
    rule.builtin = true;
    rule.expr = AlertExpr::Single(Comparison{.metric = AlertMetric::kReplicaRestarts,
                                             .window = builtin.crash_looping.window,
                                             .op = CompareOp::kGreaterEqual,
                                             .threshold = double(builtin.crash_looping.restarts)});
    rule.for_duration = builtin.crash_looping.for_duration;
    rule.labels["severity"] = builtin.crash_looping.severity;
    rules.push_back(std::move(rule));
  }
  for (auto [name, kind, event] :
       {std::tuple{kDeployFailed, AlertRule::Kind::kDeployFailed, &builtin.deploy_failed},
        std::tuple{kRolledBack, AlertRule::Kind::kRolledBack, &builtin.rollback}}) {
    if (!event->enabled) continue;
    AlertRule rule;
    rule.kind = kind;
    rule.name = std::string(name);
    rule.builtin = true;
    rule.resolve_after = event->resolve_after;
    rule.labels["severity"] = event->severity;
    rules.push_back(std::move(rule));
  }
  if (builtin.error_budget_burn.enabled && !slo.empty()) {
    AlertRule rule;
    rule.kind = AlertRule::Kind::kErrorBudgetBurn;
    rule.name = std::string(kErrorBudgetBurn);
    rule.builtin = true;
    rule.for_duration = builtin.error_budget_burn.for_duration;
    rule.objectives = slo::ObjectivesOf(slo);
    rule.burn_windows = builtin.error_budget_burn.windows;
    rules.push_back(std::move(rule));
  }
  for (const spec::AlertRuleSpec& spec : config.rules) {
    ParsedExpr parsed = ParseAlertExpr(spec.expr);
    if (parsed.error) continue;  // the spec reader refuses these; never reached
    AlertRule rule;
    rule.name = spec.name;
    rule.expr = std::move(parsed.expr);
    rule.for_duration = spec.for_duration;
    rule.labels = spec.labels;
    rule.annotations = spec.annotations;
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace slipway::alerts
