// Alert: one alert instance (a rule's condition for one set of labels) and what identifies it.
// Alert times are wall-clock: they are records sent to receivers (startsAt, endsAt) and must
// keep their meaning across a daemon restart, which the monotonic clock does not.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "alerts/alert_expr.h"

namespace slipway::alerts {

using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;
using Labels = std::map<std::string, std::string>;  // sorted by name, as fingerprints need

// inactive (no instance) -> pending (condition true, waiting `for`) -> firing -> resolved
// (condition false again). A pending alert whose condition turns false goes back to inactive
// without any notification.
enum class AlertState { kPending, kFiring, kResolved };
const char* AlertStateName(AlertState state);  // "pending", "firing", "resolved"
std::optional<AlertState> ParseAlertState(const std::string& name);

struct Alert {
  std::string app;
  std::string rule;  // the rule's name, also the alertname label
  Labels labels;     // alertname, app, severity, the rule's labels (and `release` for events)
  Labels annotations;
  std::string fingerprint;  // of the labels: Fingerprint(labels)
  AlertState state = AlertState::kPending;
  WallTime active_since;                // the condition has held since
  std::optional<WallTime> fired_at;     // firing since (startsAt)
  std::optional<WallTime> resolved_at;  // resolved at (endsAt)
  // The latest evaluation's value and its metric (not stored: the next evaluation brings it).
  std::optional<double> value;
  std::optional<AlertMetric> metric;

  // When the current state began.
  WallTime since() const;
};

// Alertmanager's fingerprint of a label set: 64-bit FNV-1a over the sorted names and values
// (each followed by the byte 0xff), as 16 hex digits. The same labels always give the same
// fingerprint, across restarts and across Slipway and Alertmanager.
std::string Fingerprint(const Labels& labels);

// RFC 3339 UTC with milliseconds: "2024-05-01T12:00:00.123Z".
std::string FormatTime(WallTime t);
// Reads FormatTime's form (the store's timestamps); nullopt for anything else.
std::optional<WallTime> ParseTime(const std::string& text);
std::int64_t ToMillis(WallTime t);
WallTime FromMillis(std::int64_t ms);

// {"a": "1", "b": "2"} and back (labels and annotations as stored and sent).
nlohmann::json LabelsToJson(const Labels& labels);
Labels LabelsFromJson(const nlohmann::json& json);

}  // namespace slipway::alerts
