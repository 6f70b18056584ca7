#include "spec/alerts_reader.h"

#include <algorithm>
#include <set>

#include "alerts/alert_expr.h"
#include "alerts/builtin_names.h"
#include "alerts/webhook_url.h"
#include "common/duration.h"
#include "spec/did_you_mean.h"
#include "spec/slo_reader.h"
#include "spec/spec_checks.h"

namespace slipway::spec {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kAlertsKeys[] = {
    "evaluation_interval", "external_url", "receivers", "group_wait", "group_interval",
    "repeat_interval",     "retry",        "builtin",   "rules"};
constexpr std::string_view kReceiverKeys[] = {"name", "url", "timeout"};
constexpr std::string_view kRetryKeys[] = {"initial_backoff", "max_backoff", "give_up_after"};
constexpr std::string_view kBuiltinKeys[] = {"error_rate",    "latency_p95", "crash_looping",
                                             "deploy_failed", "rollback",    "error_budget_burn"};
constexpr std::string_view kBurnRateKeys[] = {"enabled", "windows", "for"};
constexpr std::string_view kThresholdKeys[] = {"enabled", "threshold", "window", "for", "severity"};
constexpr std::string_view kCrashLoopingKeys[] = {"enabled", "restarts", "window", "for",
                                                  "severity"};
constexpr std::string_view kEventKeys[] = {"enabled", "resolve_after", "severity"};
constexpr std::string_view kRuleKeys[] = {"name", "expr", "for", "labels", "annotations"};
// Labels Slipway sets on every alert itself.
constexpr std::string_view kReservedLabels[] = {"alertname", "app"};

// Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*; names starting with __ are reserved there.
bool IsLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  auto start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!start(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return start(c) || (c >= '0' && c <= '9'); });
}

bool IsReceiverName(std::string_view name) {
  return !name.empty() && name.size() <= 63 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

class AlertsReader {
 public:
  AlertsReader(AlertsConfig& out, DiagnosticList& diagnostics)
      : out_(out), diagnostics_(diagnostics) {}

  void Read(MappingReader& alerts) {
    if (auto interval = alerts.Duration("evaluation_interval", 100ms, 1min)) {
      out_.evaluation_interval = *interval;
    }
    if (auto url = alerts.String("external_url")) {
      if (!url->value.empty() && !url->value.starts_with("http://") &&
          !url->value.starts_with("https://")) {
        diagnostics_.Add(url->mark, "alerts.external_url: " + Quoted(url->value) +
                                        " is not an http:// or https:// URL");
      } else {
        out_.external_url = url->value;
      }
    }
    ReadReceivers(alerts);
    ReadGrouping(alerts);
    if (auto retry = alerts.Mapping("retry", kRetryKeys)) {
      ReadRetry(*retry, *alerts.Find("retry"));
    }
    if (auto builtin = alerts.Mapping("builtin", kBuiltinKeys)) ReadBuiltin(*builtin);
    ReadRules(alerts);
  }

 private:
  void ReadReceivers(MappingReader& alerts) {
    const Field* receivers = alerts.Find("receivers");
    if (receivers == nullptr || receivers->value.IsNull()) return;
    if (!receivers->value.IsSequence()) {
      diagnostics_.Add(receivers->ValueMark(),
                       "alerts.receivers: expected a list of receivers (- name: ops, url: "
                       "http://...), got " +
                           Describe(receivers->value));
      return;
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < receivers->value.size(); ++i) {
      const YAML::Node& node = receivers->value[i];
      const std::string path = "alerts.receivers[" + std::to_string(i) + "]";
      if (!node.IsMap()) {
        diagnostics_.Add(node.Mark(), path + ": expected a mapping with `name` and `url`, got " +
                                          Describe(node));
        continue;
      }
      MappingReader receiver(node, path, kReceiverKeys, diagnostics_);
      receiver.Require("name");
      receiver.Require("url");
      AlertReceiver out;
      bool ok = receiver.Find("name") && receiver.Find("url");
      if (auto name = receiver.String("name")) {
        if (!IsReceiverName(name->value)) {
          diagnostics_.Add(name->mark, path + ".name: " + Quoted(name->value) +
                                           " is not a receiver name (letters, digits, '_', '-' "
                                           "and '.')");
          ok = false;
        } else if (!names.insert(name->value).second) {
          diagnostics_.Add(
              name->mark, path + ".name: another receiver is already named " + Quoted(name->value));
          ok = false;
        }
        out.name = name->value;
      } else {
        ok = false;
      }
      if (auto url = receiver.String("url")) {
        auto parsed = alerts::ParseWebhookUrl(url->value);
        if (!parsed) {
          diagnostics_.Add(url->mark,
                           path + ".url: " + Quoted(url->value) + ": " + parsed.error().message);
          ok = false;
        }
        out.url = url->value;
      } else {
        ok = false;
      }
      if (auto timeout = receiver.Duration("timeout", 100ms, 1min)) {
        out.timeout = *timeout;
      } else if (receiver.Find("timeout")) {
        ok = false;
      }
      if (ok) out_.receivers.push_back(std::move(out));
    }
  }

  void ReadGrouping(MappingReader& alerts) {
    if (auto wait = alerts.Duration("group_wait", 0ms, 1h)) out_.group_wait = *wait;
    auto interval = alerts.Duration("group_interval", 100ms, 24h);
    auto repeat = alerts.Duration("repeat_interval", 1s, 720h);
    if (interval) out_.group_interval = *interval;
    if (repeat) out_.repeat_interval = *repeat;
    const bool interval_ok = interval || !alerts.Find("group_interval");
    const bool repeat_ok = repeat || !alerts.Find("repeat_interval");
    if (interval_ok && repeat_ok && out_.repeat_interval < out_.group_interval) {
      const Field* at = alerts.Find("repeat_interval");
      if (at == nullptr) at = alerts.Find("group_interval");
      diagnostics_.Add(at->key.Mark(), "alerts: repeat_interval " +
                                           DurationNote(out_.repeat_interval, repeat.has_value()) +
                                           " must be at least group_interval " +
                                           DurationNote(out_.group_interval, interval.has_value()));
    }
  }

  void ReadRetry(MappingReader& retry, const Field& field) {
    AlertRetry& out = out_.retry;
    auto initial = retry.Duration("initial_backoff", 10ms, 1h);
    auto max = retry.Duration("max_backoff", 10ms, 24h);
    if (initial) out.initial_backoff = *initial;
    if (max) out.max_backoff = *max;
    if (auto give_up = retry.Duration("give_up_after", 1s, 168h)) out.give_up_after = *give_up;
    const bool initial_ok = initial || !retry.Find("initial_backoff");
    const bool max_ok = max || !retry.Find("max_backoff");
    if (initial_ok && max_ok && out.max_backoff < out.initial_backoff) {
      diagnostics_.Add(field.key.Mark(),
                       "alerts.retry: max_backoff " +
                           DurationNote(out.max_backoff, max.has_value()) +
                           " must be at least initial_backoff " +
                           DurationNote(out.initial_backoff, initial.has_value()));
    }
  }

  // A built-in rule written as `true`, `false` or a mapping of its settings. Returns the
  // mapping to read, or nullopt when there is none (absent, a boolean, or wrong).
  std::optional<MappingReader> BuiltinEntry(MappingReader& builtin, std::string_view key,
                                            std::span<const std::string_view> keys, bool& enabled) {
    const Field* field = builtin.Find(key);
    if (field == nullptr) return std::nullopt;
    if (field->value.IsScalar()) {
      if (auto on = builtin.Bool(key)) enabled = *on;
      return std::nullopt;
    }
    if (!field->value.IsMap() && !field->value.IsNull()) {
      diagnostics_.Add(field->ValueMark(), field->path +
                                               ": expected true, false or a mapping of "
                                               "its settings, got " +
                                               Describe(field->value));
      return std::nullopt;
    }
    auto settings = builtin.Mapping(key, keys);
    if (settings) {
      if (auto on = settings->Bool("enabled")) enabled = *on;
    }
    return settings;
  }

  void ReadSeverity(MappingReader& settings, std::string& severity) {
    if (auto value = settings.String("severity")) {
      if (value->value.empty()) {
        diagnostics_.Add(value->mark, settings.path() + ".severity: must not be empty");
      } else {
        severity = value->value;
      }
    }
  }

  void ReadBuiltin(MappingReader& builtin) {
    BuiltinAlerts& out = out_.builtin;
    if (auto s = BuiltinEntry(builtin, "error_rate", kThresholdKeys, out.error_rate.enabled)) {
      if (const Field* threshold = s->Find("threshold")) {
        auto value =
            threshold->value.IsScalar() ? ParseFraction(threshold->value.Scalar()) : std::nullopt;
        if (!value) {
          diagnostics_.Add(threshold->ValueMark(),
                           s->path() +
                               ".threshold: expected a share of requests (5% or 0.05, "
                               "between 0 and 100%), got " +
                               Describe(threshold->value));
        } else {
          out.error_rate.threshold = *value;
        }
      }
      ReadWindowAndFor(*s, out.error_rate.window, out.error_rate.for_duration,
                       alerts::kMaxProxyWindow);
      ReadSeverity(*s, out.error_rate.severity);
    }
    if (auto s = BuiltinEntry(builtin, "latency_p95", kThresholdKeys, out.latency_p95.enabled)) {
      if (auto threshold = s->Duration("threshold", 1ms, 10min)) {
        out.latency_p95.threshold = std::chrono::duration<double>(*threshold).count();
      }
      ReadWindowAndFor(*s, out.latency_p95.window, out.latency_p95.for_duration,
                       alerts::kMaxProxyWindow);
      ReadSeverity(*s, out.latency_p95.severity);
    }
    if (auto s =
            BuiltinEntry(builtin, "crash_looping", kCrashLoopingKeys, out.crash_looping.enabled)) {
      if (auto restarts = s->Integer("restarts", 1, 1000)) {
        out.crash_looping.restarts = static_cast<int>(*restarts);
      }
      ReadWindowAndFor(*s, out.crash_looping.window, out.crash_looping.for_duration,
                       alerts::kMaxRestartsWindow);
      ReadSeverity(*s, out.crash_looping.severity);
    }
    for (auto [key, event] :
         {std::pair{"deploy_failed", &out.deploy_failed}, std::pair{"rollback", &out.rollback}}) {
      if (auto s = BuiltinEntry(builtin, key, kEventKeys, event->enabled)) {
        if (auto after = s->Duration("resolve_after", 1s, 168h)) event->resolve_after = *after;
        ReadSeverity(*s, event->severity);
      }
    }
    if (auto s = BuiltinEntry(builtin, "error_budget_burn", kBurnRateKeys,
                              out.error_budget_burn.enabled)) {
      ReadBurnRateSettings(*s, out.error_budget_burn, diagnostics_);
    }
  }

  void ReadWindowAndFor(MappingReader& settings, std::chrono::seconds& window, Millis& for_duration,
                        std::chrono::seconds max_window) {
    if (auto value = settings.Duration("window", 1s, max_window)) {
      if (value->count() % 1000 != 0) {
        diagnostics_.Add(settings.Find("window")->ValueMark(),
                         settings.path() + ".window: " + FormatDuration(*value) +
                             " must be a whole number of seconds");
      } else {
        window = std::chrono::duration_cast<std::chrono::seconds>(*value);
      }
    }
    if (auto value = settings.Duration("for", 0ms, 24h)) for_duration = *value;
  }

  void ReadRules(MappingReader& alerts) {
    const Field* rules = alerts.Find("rules");
    if (rules == nullptr || rules->value.IsNull()) return;
    if (!rules->value.IsSequence()) {
      diagnostics_.Add(rules->ValueMark(),
                       "alerts.rules: expected a list of rules (- name: ..., expr: ...), got " +
                           Describe(rules->value));
      return;
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < rules->value.size(); ++i) {
      const YAML::Node& node = rules->value[i];
      const std::string path = "alerts.rules[" + std::to_string(i) + "]";
      if (!node.IsMap()) {
        diagnostics_.Add(node.Mark(), path + ": expected a mapping with `name` and `expr`, got " +
                                          Describe(node));
        continue;
      }
      MappingReader rule(node, path, kRuleKeys, diagnostics_);
      if (auto parsed = ReadRule(rule)) {
        if (!names.insert(parsed->name).second) {
          diagnostics_.Add(rule.Find("name")->ValueMark(),
                           path + ".name: another rule is already named " + Quoted(parsed->name));
          continue;
        }
        out_.rules.push_back(std::move(*parsed));
      }
    }
  }

  std::optional<AlertRuleSpec> ReadRule(MappingReader& rule) {
    rule.Require("name");
    rule.Require("expr");
    AlertRuleSpec out;
    out.line = rule.mark().line + 1;
    bool ok = rule.Find("name") && rule.Find("expr");
    if (auto name = rule.String("name")) {
      const bool builtin =
          std::find(std::begin(alerts::kBuiltinAlertNames), std::end(alerts::kBuiltinAlertNames),
                    name->value) != std::end(alerts::kBuiltinAlertNames);
      if (!IsLabelName(name->value)) {
        diagnostics_.Add(name->mark, rule.path() + ".name: " + Quoted(name->value) +
                                         " is not an alert name (letters, digits and '_', not "
                                         "starting with a digit), e.g. HighCheckoutLatency");
        ok = false;
      } else if (builtin) {
        diagnostics_.Add(name->mark, rule.path() + ".name: " + Quoted(name->value) +
                                         " is a built-in rule; tune it under alerts.builtin, or "
                                         "give this rule another name");
        ok = false;
      }
      out.name = name->value;
    }
    if (const Field* expr = rule.Find("expr")) {
      if (!expr->value.IsScalar()) {
        diagnostics_.Add(expr->ValueMark(), rule.path() +
                                                ".expr: expected an expression such "
                                                "as error_rate(5m) > 5%, got " +
                                                Describe(expr->value));
        ok = false;
      } else if (!CheckExpr(*expr, rule.path())) {
        ok = false;
      } else {
        out.expr = expr->value.Scalar();
      }
    }
    if (auto for_duration = rule.Duration("for", 0ms, 24h)) {
      out.for_duration = *for_duration;
    } else if (rule.Find("for")) {
      ok = false;
    }
    if (!ReadLabels(rule, "labels", out.labels)) ok = false;
    if (!ReadLabels(rule, "annotations", out.annotations)) ok = false;
    if (!ok) return std::nullopt;
    return out;
  }

  // The expression's own diagnostics point into the YAML value: its column plus the offset
  // (and the opening quote of a quoted scalar), when the value is on one line.
  bool CheckExpr(const Field& expr, const std::string& path) {
    const std::string& text = expr.value.Scalar();
    alerts::ParsedExpr parsed = alerts::ParseAlertExpr(text);
    if (!parsed.error) return true;
    const alerts::ExprError& error = *parsed.error;
    std::string message = error.message;
    if (!error.unknown_function.empty()) {
      message = UnknownName("function", error.unknown_function, alerts::AlertFunctionNames());
    }
    YAML::Mark mark = expr.ValueMark();
    const bool one_line = text.find('\n') == std::string::npos;
    if (one_line && mark.line >= 0 && mark.column >= 0) {
      const bool quoted = expr.value.Tag() == "!";
      mark.column += static_cast<int>(error.offset) + (quoted ? 1 : 0);
    }
    diagnostics_.Add(mark, path + ".expr: " + message);
    return false;
  }

  // `labels` / `annotations`: a mapping of names to strings.
  bool ReadLabels(MappingReader& rule, std::string_view key,
                  std::map<std::string, std::string>& out) {
    const Field* field = rule.Find(key);
    if (field == nullptr || field->value.IsNull()) return true;
    auto map = rule.Mapping(key, {});
    if (!map) return false;
    bool ok = true;
    const bool labels = key == "labels";
    for (const Field& entry : map->fields()) {
      if (!IsLabelName(entry.name)) {
        diagnostics_.Add(entry.key.Mark(), field->path + ": " + Quoted(entry.name) +
                                               " is not a valid name (letters, digits and '_', "
                                               "not starting with a digit or __)");
        ok = false;
        continue;
      }
      if (labels && std::find(std::begin(kReservedLabels), std::end(kReservedLabels), entry.name) !=
                        std::end(kReservedLabels)) {
        diagnostics_.Add(entry.key.Mark(), field->path + ": " + Quoted(entry.name) +
                                               " is set by Slipway on every alert");
        ok = false;
        continue;
      }
      auto value = map->String(entry.name);
      if (!value) {
        ok = false;
        continue;
      }
      if (!labels && entry.name == "runbook_url" && !value->value.starts_with("http://") &&
          !value->value.starts_with("https://")) {
        diagnostics_.Add(value->mark, field->path + ".runbook_url: " + Quoted(value->value) +
                                          " is not an http:// or https:// URL");
        ok = false;
        continue;
      }
      out[entry.name] = value->value;
    }
    return ok;
  }

  AlertsConfig& out_;
  DiagnosticList& diagnostics_;
};

}  // namespace

void ReadAlerts(MappingReader& top, AppSpec& spec, DiagnosticList& diagnostics) {
  if (auto alerts = top.Mapping("alerts", kAlertsKeys)) {
    AlertsReader(spec.alerts, diagnostics).Read(*alerts);
  }
}

}  // namespace slipway::spec
