#include "spec/slo_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/duration.h"
#include "spec/spec_checks.h"

namespace slipway::spec {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kSloKeys[] = {"availability", "latency", "error_rate"};
constexpr std::string_view kAvailabilityKeys[] = {"target", "minute_error_rate"};
// p95 first: a typo close to two of them (p96) is most likely the common one.
constexpr std::string_view kLatencyKeys[] = {"p95", "p99", "p90", "p75", "p50"};
constexpr std::string_view kBurnWindowKeys[] = {"long", "short", "burn_rate", "severity"};
// The longest window Slipway keeps per-minute counts for.
constexpr Millis kMaxSloWindow = 30 * 24h;

// A target share strictly between 0 and 1, written as 99.9% or 0.999; reports why not.
std::optional<double> ReadShare(const Field& field, std::string_view example,
                                DiagnosticList& diagnostics) {
  if (!field.value.IsScalar()) {
    diagnostics.Add(field.ValueMark(), field.path + ": expected a share such as " +
                                           std::string(example) + ", got " + Describe(field.value));
    return std::nullopt;
  }
  const std::string& text = field.value.Scalar();
  auto value = ParseFraction(text);
  if (!value) {
    diagnostics.Add(field.ValueMark(), field.path + ": expected a share between 0% and 100% (" +
                                           std::string(example) + "), got " + Quoted(text));
    return std::nullopt;
  }
  // 99.9% is 99.9 * 0.01 = 0.9990000000000001 in binary; keep what was meant: 0.999.
  *value = std::strtod(fmt::format("{:.12g}", *value).c_str(), nullptr);
  if (*value <= 0 || *value >= 1) {
    diagnostics.Add(
        field.ValueMark(),
        field.path + ": " + text + (*value >= 1 ? " leaves no error budget" : " is no objective") +
            "; give a share strictly between 0% and 100% (" + std::string(example) + ")");
    return std::nullopt;
  }
  return value;
}

void ReadAvailability(MappingReader& slo, SloSpec& out, DiagnosticList& diagnostics) {
  const Field* field = slo.Find("availability");
  if (field == nullptr || field->value.IsNull()) return;
  AvailabilityObjective objective;
  if (field->value.IsScalar()) {
    auto target = ReadShare(*field, "99.9%", diagnostics);
    if (!target) return;
    objective.target = *target;
    out.availability = objective;
    return;
  }
  auto settings = slo.Mapping("availability", kAvailabilityKeys);
  if (!settings) return;
  settings->Require("target");
  bool ok = settings->Find("target") != nullptr;
  if (const Field* target = settings->Find("target")) {
    auto value = ReadShare(*target, "99.9%", diagnostics);
    ok = ok && value.has_value();
    if (value) objective.target = *value;
  }
  if (const Field* rate = settings->Find("minute_error_rate")) {
    auto value = ReadShare(*rate, "5%", diagnostics);
    ok = ok && value.has_value();
    if (value) objective.minute_error_rate = *value;
  }
  if (ok) out.availability = objective;
}

void ReadLatency(MappingReader& slo, SloSpec& out, DiagnosticList& diagnostics) {
  const Field* field = slo.Find("latency");
  if (field == nullptr || field->value.IsNull()) return;
  if (!field->value.IsMap()) {
    diagnostics.Add(field->ValueMark(),
                    field->path +
                        ": expected a percentile and its threshold such as {p95: "
                        "300ms}, got " +
                        Describe(field->value));
    return;
  }
  auto latency = slo.Mapping("latency", kLatencyKeys);
  if (!latency) return;
  std::optional<LatencyObjective> objective;
  bool ok = true;
  for (const Field& entry : latency->fields()) {
    if (std::find(std::begin(kLatencyKeys), std::end(kLatencyKeys), entry.name) ==
        std::end(kLatencyKeys)) {
      ok = false;  // reported by the reader
      continue;
    }
    auto threshold = latency->Duration(entry.name, 1ms, 10min);
    if (!threshold) {
      ok = false;
      continue;
    }
    if (objective) {
      diagnostics.Add(entry.key.Mark(), latency->path() + ": one percentile per objective; " +
                                            entry.name + " comes after p" +
                                            std::to_string(objective->percentile));
      ok = false;
      continue;
    }
    objective.emplace();
    objective->percentile = std::stoi(entry.name.substr(1));
    objective->target = objective->percentile / 100.0;
    objective->threshold = *threshold;
  }
  if (!objective && ok && field->value.size() == 0) {
    diagnostics.Add(field->ValueMark(),
                    field->path +
                        ": expected a percentile and its threshold such as {p95: "
                        "300ms}; valid keys: p50, p75, p90, p95, p99");
    return;
  }
  if (ok) out.latency = objective;
}

}  // namespace

void ReadSlo(MappingReader& top, AppSpec& spec, DiagnosticList& diagnostics) {
  const Field* field = top.Find("slo");
  if (field == nullptr || field->value.IsNull()) return;
  if (!field->value.IsMap()) {
    diagnostics.Add(field->ValueMark(),
                    "slo: expected a mapping of objectives (availability, latency, error_rate), "
                    "got " +
                        Describe(field->value));
    return;
  }
  auto slo = top.Mapping("slo", kSloKeys);
  if (!slo) return;
  ReadAvailability(*slo, spec.slo, diagnostics);
  ReadLatency(*slo, spec.slo, diagnostics);
  if (const Field* rate = slo->Find("error_rate"); rate != nullptr && !rate->value.IsNull()) {
    if (auto value = ReadShare(*rate, "1%", diagnostics)) spec.slo.error_rate = *value;
  }
}

void ReadBurnRateSettings(MappingReader& settings, BuiltinBurnRateAlert& out,
                          DiagnosticList& diagnostics) {
  if (auto value = settings.Duration("for", 0ms, 24h)) out.for_duration = *value;
  const Field* windows = settings.Find("windows");
  if (windows == nullptr) return;
  if (!windows->value.IsSequence() || windows->value.size() == 0) {
    diagnostics.Add(windows->ValueMark(),
                    windows->path +
                        ": expected a list of window pairs (- {long: 1h, short: 5m, burn_rate: "
                        "14.4, severity: critical}), got " +
                        Describe(windows->value) +
                        "; to turn the rule off, write error_budget_burn: false");
    return;
  }
  std::vector<BurnRateWindow> parsed;
  bool ok = true;
  for (std::size_t i = 0; i < windows->value.size(); ++i) {
    const YAML::Node& node = windows->value[i];
    const std::string path = windows->path + "[" + std::to_string(i) + "]";
    if (!node.IsMap()) {
      diagnostics.Add(node.Mark(), path +
                                       ": expected a mapping with `long`, `short` and "
                                       "`burn_rate`, got " +
                                       Describe(node));
      ok = false;
      continue;
    }
    MappingReader window(node, path, kBurnWindowKeys, diagnostics);
    window.Require("long");
    window.Require("short");
    window.Require("burn_rate");
    BurnRateWindow w;
    auto long_window = window.Duration("long", 1s, kMaxSloWindow);
    auto short_window = window.Duration("short", 1s, kMaxSloWindow);
    auto burn_rate = window.Number("burn_rate", 0.001, 1000);
    if (!long_window || !short_window || !burn_rate) {
      ok = false;
      continue;
    }
    for (auto [key, value] : {std::pair{"long", *long_window}, std::pair{"short", *short_window}}) {
      if (value.count() % 1000 != 0) {
        diagnostics.Add(
            window.Find(key)->ValueMark(),
            path + "." + key + ": " + FormatDuration(value) + " must be a whole number of seconds");
        ok = false;
      }
    }
    if (*short_window >= *long_window) {
      diagnostics.Add(window.Find("short")->ValueMark(),
                      path + ".short: " + FormatDuration(*short_window) +
                          " must be shorter than long (" + FormatDuration(*long_window) + ")");
      ok = false;
    }
    if (auto severity = window.String("severity")) {
      if (severity->value.empty()) {
        diagnostics.Add(severity->mark, path + ".severity: must not be empty");
        ok = false;
      }
      w.severity = severity->value;
    }
    w.long_window = std::chrono::duration_cast<std::chrono::seconds>(*long_window);
    w.short_window = std::chrono::duration_cast<std::chrono::seconds>(*short_window);
    w.burn_rate = *burn_rate;
    parsed.push_back(std::move(w));
  }
  if (ok) out.windows = std::move(parsed);
}

}  // namespace slipway::spec
