#include "spec/delivery_reader.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/duration.h"
#include "spec/did_you_mean.h"
#include "spec/spec_checks.h"
#include "spec/spec_parser.h"

namespace slipway::spec {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kStrategyKeys[] = {"type",
                                              "max_surge",
                                              "max_unavailable",
                                              "ready_deadline",
                                              "progress_deadline",
                                              "on_progress_deadline",
                                              "preview_listen",
                                              "auto_promote",
                                              "scale_down_delay",
                                              "steps",
                                              "header",
                                              "sticky_cookie"};
constexpr std::string_view kStrategyTypes[] = {"rolling", "blue-green", "canary"};
constexpr std::string_view kRollingOnly[] = {"max_surge", "max_unavailable"};
constexpr std::string_view kBlueGreenOnly[] = {"preview_listen", "auto_promote",
                                               "scale_down_delay"};
constexpr std::string_view kCanaryOnly[] = {"steps", "header", "sticky_cookie"};
constexpr std::string_view kProgressActions[] = {"abort", "pause"};
constexpr std::string_view kStepKeys[] = {"weight", "pause", "analysis"};
constexpr std::string_view kPauseKeys[] = {"duration"};
constexpr std::string_view kAnalysisKeys[] = {"interval", "window", "failure_limit",
                                              "inconclusive_limit", "checks"};
constexpr std::string_view kCheckKeys[] = {"name",        "metric",     "max",
                                           "min_samples", "confidence", "min_effect"};
constexpr std::string_view kMetricNames[] = {"error_rate",
                                             "latency_p95",
                                             "latency_p99",
                                             "error_rate_vs_baseline",
                                             "latency_p95_vs_baseline",
                                             "mann_whitney"};
constexpr AnalysisMetric kMetrics[] = {AnalysisMetric::kErrorRate,
                                       AnalysisMetric::kLatencyP95,
                                       AnalysisMetric::kLatencyP99,
                                       AnalysisMetric::kErrorRateVsBaseline,
                                       AnalysisMetric::kLatencyP95VsBaseline,
                                       AnalysisMetric::kMannWhitney};

bool IsFlagName(std::string_view name) {
  if (name.empty() || name.size() > 63 || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsCookieName(std::string_view name) {
  // RFC 6265 cookie-name is a token; the same characters as a header name.
  return IsHeaderName(name);
}

class DeliveryReader {
 public:
  DeliveryReader(AppSpec& spec, DiagnosticList& diagnostics)
      : spec_(spec), diagnostics_(diagnostics) {}

  void Read(MappingReader& top) {
    // analysis first: the canary's analysis steps are checked against its interval.
    if (auto analysis = top.Mapping("analysis", kAnalysisKeys)) {
      ReadAnalysis(*analysis);
    }
    if (auto strategy = top.Mapping("strategy", kStrategyKeys)) {
      ReadStrategy(*strategy, *top.Find("strategy"));
    }
    if (spec_.analysis.checks.empty()) spec_.analysis.checks = DefaultAnalysisChecks();
    if (auto flags = top.Mapping("flags", {})) ReadFlags(*flags);
  }

 private:
  void ReadStrategy(MappingReader& strategy, const Field& field) {
    if (auto type = strategy.String("type")) {
      auto it = std::find(std::begin(kStrategyTypes), std::end(kStrategyTypes), type->value);
      if (it == std::end(kStrategyTypes)) {
        const std::string lookup = type->value == "blue_green" ? "blue-green" : "";
        diagnostics_.Add(type->mark, "strategy.type: " + UnknownName("strategy", type->value,
                                                                     kStrategyTypes, lookup));
      } else {
        spec_.strategy = static_cast<Strategy>(it - std::begin(kStrategyTypes));
        if (spec_.strategy != Strategy::kRolling && spec_.proxy.listen.empty()) {
          diagnostics_.Add(type->mark, "strategy.type: " + type->value +
                                           " shifts traffic, but proxy.listen is none (no "
                                           "listener): use rolling");
        }
      }
    }
    RefuseKeysOfOtherStrategies(strategy);

    RollingStrategy& rolling = spec_.rolling;
    auto surge = strategy.Integer("max_surge", 0, 100);
    auto unavailable = strategy.Integer("max_unavailable", 0, 100);
    if (surge) rolling.max_surge = static_cast<int>(*surge);
    if (unavailable) rolling.max_unavailable = static_cast<int>(*unavailable);
    // Only judge the sum when neither part was itself invalid: one problem, one message.
    bool surge_ok = surge || !strategy.Find("max_surge");
    bool unavailable_ok = unavailable || !strategy.Find("max_unavailable");
    if (surge_ok && unavailable_ok && rolling.max_surge + rolling.max_unavailable < 1) {
      diagnostics_.Add(field.key.Mark(),
                       "strategy: max_surge + max_unavailable must be at least 1, or a deploy "
                       "could never replace a replica");
    }
    if (auto deadline = strategy.Duration("ready_deadline", 1s, 24h)) {
      rolling.ready_deadline = *deadline;
    }
    if (auto after = strategy.Duration("progress_deadline", 1s, 24h)) {
      spec_.progress_deadline.after = *after;
    }
    if (auto action = strategy.String("on_progress_deadline")) {
      if (action->value == "abort" || action->value == "pause") {
        spec_.progress_deadline.abort = action->value == "abort";
      } else {
        diagnostics_.Add(action->mark, "strategy.on_progress_deadline: " +
                                           UnknownName("action", action->value, kProgressActions));
      }
    }
    ReadBlueGreen(strategy);
    ReadCanary(strategy, field);
  }

  // A key of another strategy is a mistake (a forgotten `type`, or a copied block), never
  // silently ignored.
  void RefuseKeysOfOtherStrategies(MappingReader& strategy) {
    auto refuse = [&](std::span<const std::string_view> keys, Strategy owner, const char* name) {
      if (spec_.strategy == owner) return;
      for (std::string_view key : keys) {
        if (const Field* f = strategy.Find(key)) {
          diagnostics_.Add(f->key.Mark(), "strategy." + std::string(key) + ": applies only to " +
                                              name + " (strategy.type is " +
                                              StrategyName(spec_.strategy) + ")");
        }
      }
    };
    refuse(kRollingOnly, Strategy::kRolling, "type: rolling");
    refuse(kBlueGreenOnly, Strategy::kBlueGreen, "type: blue-green");
    refuse(kCanaryOnly, Strategy::kCanary, "type: canary");
  }

  void ReadBlueGreen(MappingReader& strategy) {
    if (spec_.strategy != Strategy::kBlueGreen) return;
    BlueGreenStrategy& out = spec_.blue_green;
    if (auto preview = strategy.String("preview_listen")) {
      std::string problem = ListenProblem(preview->value);
      if (!problem.empty()) {
        diagnostics_.Add(preview->mark, "strategy.preview_listen: " + problem);
      } else if (preview->value == spec_.proxy.listen ||
                 preview->value == spec_.proxy.tls.redirect_http) {
        diagnostics_.Add(
            preview->mark,
            "strategy.preview_listen: " + Quoted(preview->value) + " is already used by proxy." +
                (preview->value == spec_.proxy.listen ? "listen" : "tls.redirect_http") +
                "; the preview needs an address of its own");
      } else {
        out.preview_listen = preview->value;
      }
    }
    if (const Field* auto_promote = strategy.Find("auto_promote")) {
      if (auto_promote->value.IsScalar() && auto_promote->value.Scalar() == "false") {
        out.auto_promote.reset();
      } else if (auto_promote->value.IsScalar() && auto_promote->value.Scalar() == "true") {
        diagnostics_.Add(auto_promote->ValueMark(),
                         "strategy.auto_promote: give how long the new set serves the preview "
                         "before promotion (e.g. 30s, or 0s for at once), or false to wait for "
                         "`slipway promote`");
      } else if (auto after = strategy.Duration("auto_promote", 0ms, 24h)) {
        out.auto_promote = *after;
      }
    }
    if (auto delay = strategy.Duration("scale_down_delay", 0ms, 24h)) {
      out.scale_down_delay = *delay;
    }
  }

  void ReadCanary(MappingReader& strategy, const Field& field) {
    if (spec_.strategy != Strategy::kCanary) return;
    CanaryStrategy& out = spec_.canary;
    if (auto header = strategy.String("header")) {
      if (!header->value.empty() && !IsHeaderName(header->value)) {
        diagnostics_.Add(header->mark, "strategy.header: " + Quoted(header->value) +
                                           " is not a header name (or \"\" to turn header "
                                           "routing off)");
      } else {
        out.header = header->value;
      }
    }
    if (auto cookie = strategy.String("sticky_cookie")) {
      if (!cookie->value.empty() && !IsCookieName(cookie->value)) {
        diagnostics_.Add(cookie->mark,
                         "strategy.sticky_cookie: " + Quoted(cookie->value) +
                             " is not a cookie name (letters, digits and !#$%&'*+-.^_`|~)");
      } else {
        out.sticky_cookie = cookie->value;
      }
    }
    const Field* steps = strategy.Find("steps");
    if (steps == nullptr) {
      auto weight = [](int w) {
        CanaryStep step;
        step.weight = w;
        return step;
      };
      auto analysis = [](Millis d) {
        CanaryStep step;
        step.kind = CanaryStep::Kind::kAnalysis;
        step.analysis = d;
        return step;
      };
      out.steps = {weight(20), analysis(30s), weight(50), analysis(30s)};
      return;
    }
    if (!steps->value.IsSequence() || steps->value.size() == 0) {
      diagnostics_.Add(steps->value.IsNull() ? steps->key.Mark() : steps->ValueMark(),
                       "strategy.steps: expected a list of steps (- weight: 10, - pause: 30s, - "
                       "pause: {}, - analysis: 30s), got " +
                           (steps->value.IsSequence() ? "an empty list" : Describe(steps->value)));
      return;
    }
    (void)field;
    for (std::size_t i = 0; i < steps->value.size(); ++i) {
      ReadStep(steps->value[i], "strategy.steps[" + std::to_string(i) + "]");
    }
  }

  void ReadStep(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap() || node.size() != 1) {
      diagnostics_.Add(node.Mark(), path +
                                        ": a step is one of `weight: PERCENT`, `pause: DURATION`, "
                                        "`pause: {}` (until resumed) or `analysis: DURATION`");
      return;
    }
    MappingReader step(node, path, kStepKeys, diagnostics_);
    if (step.fields().empty()) return;  // the unknown key is reported
    CanaryStep out;
    out.line = node.Mark().line + 1;
    const Field& only = step.fields().front();
    if (only.name == "weight") {
      auto weight = step.Integer("weight", 0, 100);
      if (!weight) return;
      out.kind = CanaryStep::Kind::kWeight;
      out.weight = static_cast<int>(*weight);
    } else if (only.name == "pause") {
      out.kind = CanaryStep::Kind::kPause;
      if (only.value.IsNull() || (only.value.IsMap() && only.value.size() == 0)) {
        out.pause.reset();  // until `slipway resume` or `promote`
      } else if (only.value.IsMap()) {
        auto pause = step.Mapping("pause", kPauseKeys);
        if (!pause) return;
        auto duration = pause->Duration("duration", 0ms, 24h);
        if (!duration) {
          if (!pause->Find("duration")) pause->Require("duration");
          return;
        }
        out.pause = *duration;
      } else {
        auto duration = step.Duration("pause", 0ms, 24h);
        if (!duration) return;
        out.pause = *duration;
      }
    } else {
      auto duration = step.Duration("analysis", 1s, 24h);
      if (!duration) return;
      if (*duration < spec_.analysis.interval) {
        diagnostics_.Add(only.ValueMark(), path + ".analysis: " + FormatDuration(*duration) +
                                               " is shorter than analysis.interval " +
                                               FormatDuration(spec_.analysis.interval) +
                                               ": not one evaluation would run");
        return;
      }
      out.kind = CanaryStep::Kind::kAnalysis;
      out.analysis = *duration;
    }
    spec_.canary.steps.push_back(out);
  }

  void ReadAnalysis(MappingReader& analysis) {
    AnalysisConfig& out = spec_.analysis;
    if (auto interval = analysis.Duration("interval", 100ms, 10min)) out.interval = *interval;
    if (auto window = analysis.Duration("window", 1s, 600s)) {
      if (window->count() % 1000 != 0) {
        diagnostics_.Add(analysis.Find("window")->ValueMark(),
                         "analysis.window: " + FormatDuration(*window) +
                             " must be a whole number of seconds (the proxy counts per second)");
      } else {
        out.window = std::chrono::duration_cast<std::chrono::seconds>(*window);
      }
    }
    if (auto limit = analysis.Integer("failure_limit", 1, 1000)) {
      out.failure_limit = static_cast<int>(*limit);
    }
    if (auto limit = analysis.Integer("inconclusive_limit", 1, 100'000)) {
      out.inconclusive_limit = static_cast<int>(*limit);
    }
    const Field* checks = analysis.Find("checks");
    if (checks == nullptr) return;
    if (!checks->value.IsSequence() || checks->value.size() == 0) {
      diagnostics_.Add(
          checks->value.IsNull() ? checks->key.Mark() : checks->ValueMark(),
          "analysis.checks: expected a list of checks (- metric: error_rate, max: "
          "5%), got " +
              (checks->value.IsSequence() ? "an empty list" : Describe(checks->value)));
      return;
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < checks->value.size(); ++i) {
      const YAML::Node& node = checks->value[i];
      const std::string path = "analysis.checks[" + std::to_string(i) + "]";
      if (!node.IsMap()) {
        diagnostics_.Add(node.Mark(), path + ": expected a mapping with `metric` and `max`, got " +
                                          Describe(node));
        continue;
      }
      MappingReader check(node, path, kCheckKeys, diagnostics_);
      if (auto parsed = ReadCheck(check)) {
        if (!names.insert(parsed->name).second) {
          diagnostics_.Add(node.Mark(), path + ": another check is already named " +
                                            Quoted(parsed->name) + "; give each check a name");
          continue;
        }
        out.checks.push_back(std::move(*parsed));
      }
    }
  }

  std::optional<AnalysisCheck> ReadCheck(MappingReader& check) {
    AnalysisCheck out;
    out.line = check.mark().line + 1;
    check.Require("metric");
    auto metric = check.String("metric");
    if (!metric) return std::nullopt;
    auto it = std::find(std::begin(kMetricNames), std::end(kMetricNames), metric->value);
    if (it == std::end(kMetricNames)) {
      diagnostics_.Add(metric->mark, check.path() + ".metric: " +
                                         UnknownName("metric", metric->value, kMetricNames));
      return std::nullopt;
    }
    out.metric = kMetrics[it - std::begin(kMetricNames)];
    out.name = metric->value;
    if (auto name = check.String("name")) {
      if (name->value.empty()) {
        diagnostics_.Add(name->mark, check.path() + ".name: must not be empty");
        return std::nullopt;
      }
      out.name = name->value;
    }
    if (auto samples = check.Integer("min_samples", 1, 1'000'000'000)) {
      out.min_samples = static_cast<std::uint64_t>(*samples);
    } else if (check.Find("min_samples")) {
      return std::nullopt;
    }
    const bool mann_whitney = out.metric == AnalysisMetric::kMannWhitney;
    for (std::string_view key : {std::string_view("confidence"), std::string_view("min_effect")}) {
      if (!mann_whitney && check.Find(key)) {
        diagnostics_.Add(check.Find(key)->key.Mark(), check.path() + "." + std::string(key) +
                                                          ": applies only to metric: "
                                                          "mann_whitney");
        return std::nullopt;
      }
    }
    if (mann_whitney) {
      if (const Field* max = check.Find("max")) {
        diagnostics_.Add(max->key.Mark(), check.path() +
                                              ".max: mann_whitney has no max; it fails when the "
                                              "canary is slower at `confidence` (default 0.95)");
        return std::nullopt;
      }
      if (auto confidence = check.Number("confidence", 0.5, 0.9999)) {
        out.confidence = *confidence;
      } else if (check.Find("confidence")) {
        return std::nullopt;
      }
      if (auto effect = check.Duration("min_effect", 0ms, 1min)) {
        out.min_effect = std::chrono::duration<double>(*effect).count();
      } else if (check.Find("min_effect")) {
        return std::nullopt;
      }
      return out;
    }
    check.Require("max");
    const Field* max = check.Find("max");
    if (max == nullptr) return std::nullopt;
    switch (out.metric) {
      case AnalysisMetric::kErrorRate:
      case AnalysisMetric::kErrorRateVsBaseline: {
        auto value = max->value.IsScalar() ? ParseFraction(max->value.Scalar()) : std::nullopt;
        if (!value) {
          diagnostics_.Add(max->ValueMark(), check.path() +
                                                 ".max: expected a share of requests "
                                                 "(5% or 0.05, between 0 and 100%), "
                                                 "got " +
                                                 Describe(max->value));
          return std::nullopt;
        }
        out.max = *value;
        break;
      }
      case AnalysisMetric::kLatencyP95:
      case AnalysisMetric::kLatencyP99: {
        auto value = check.Duration("max", 1ms, 10min);
        if (!value) return std::nullopt;
        out.max = std::chrono::duration<double>(*value).count();
        break;
      }
      case AnalysisMetric::kLatencyP95VsBaseline: {
        auto value = check.Number("max", 1.0, 1000);
        if (!value) return std::nullopt;
        out.max = *value;
        break;
      }
      case AnalysisMetric::kMannWhitney:
        break;
    }
    return out;
  }

  void ReadFlags(MappingReader& flags) {
    for (const Field& flag : flags.fields()) {
      const std::string where = "flags." + flag.name + ": ";
      if (!IsFlagName(flag.name)) {
        diagnostics_.Add(flag.key.Mark(),
                         "flags: " + Quoted(flag.name) +
                             " is not a valid flag name (lowercase letters, digits and '_', "
                             "starting with a letter)");
        continue;
      }
      auto value = flag.value.IsScalar() ? ParseFlagValue(flag.value.Scalar()) : std::nullopt;
      if (!value) {
        diagnostics_.Add(flag.ValueMark(), where +
                                               "expected true, false or a percentage of "
                                               "users (25%), got " +
                                               Describe(flag.value));
        continue;
      }
      spec_.flags[flag.name] = *value;
    }
  }

  AppSpec& spec_;
  DiagnosticList& diagnostics_;
};

}  // namespace

std::optional<FlagValue> ParseFlagValue(const std::string& text) {
  FlagValue value;
  if (text == "true" || text == "false") {
    value.on = text == "true";
    return value;
  }
  if (text.size() < 2 || text.back() != '%') return std::nullopt;
  auto fraction = ParseFraction(text);
  if (!fraction) return std::nullopt;
  value.percent_based = true;
  value.percent = *fraction * 100;
  return value;
}

std::string FlagValue::ToString() const {
  if (!percent_based) return on ? "true" : "false";
  std::string text = std::to_string(percent);
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text + "%";
}

void ReadDelivery(MappingReader& top, AppSpec& spec, DiagnosticList& diagnostics) {
  DeliveryReader(spec, diagnostics).Read(top);
}

std::vector<AnalysisCheck> DefaultAnalysisChecks() {
  return {{.name = "error_rate", .metric = AnalysisMetric::kErrorRate, .max = 0.05},
          {.name = "latency_p95", .metric = AnalysisMetric::kLatencyP95, .max = 1.0}};
}

const char* AnalysisMetricName(AnalysisMetric metric) {
  for (std::size_t i = 0; i < std::size(kMetrics); ++i) {
    if (kMetrics[i] == metric) return kMetricNames[i].data();
  }
  return "?";
}

const char* StrategyName(Strategy strategy) {
  return kStrategyTypes[static_cast<int>(strategy)].data();
}

}  // namespace slipway::spec
