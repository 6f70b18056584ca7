#include "alerts/alert.h"

#include <time.h>

#include <cstdio>

namespace slipway::alerts {

const char* AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
    case AlertState::kResolved:
      return "resolved";
  }
  return "pending";
}

std::optional<AlertState> ParseAlertState(const std::string& name) {
  if (name == "pending") return AlertState::kPending;
  if (name == "firing") return AlertState::kFiring;
  if (name == "resolved") return AlertState::kResolved;
  return std::nullopt;
}

WallTime Alert::since() const {
  if (state == AlertState::kResolved && resolved_at) return *resolved_at;
  if (state != AlertState::kPending && fired_at) return *fired_at;
  return active_since;
}

std::string Fingerprint(const Labels& labels) {
  // github.com/prometheus/common/model: labelSetToFingerprint with hashNew/hashAdd (FNV-1a).
  constexpr std::uint64_t kOffset = 14695981039346656037ull;
  constexpr std::uint64_t kPrime = 1099511628211ull;
  std::uint64_t hash = kOffset;
  auto add = [&hash](std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= kPrime;
    }
  };
  auto separator = [&hash] {
    hash ^= 0xffu;
    hash *= kPrime;
  };
  for (const auto& [name, value] : labels) {
    add(name);
    separator();
    add(value);
    separator();
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::int64_t ToMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallTime FromMillis(std::int64_t ms) {
  return WallTime(std::chrono::duration_cast<WallClock::duration>(std::chrono::milliseconds(ms)));
}

std::string FormatTime(WallTime t) {
  const std::int64_t ms = ToMillis(t);
  std::int64_t secs = ms / 1000;
  std::int64_t rem = ms % 1000;
  if (rem < 0) {
    rem += 1000;
    --secs;
  }
  time_t tt = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(rem));
  return buf;
}

std::optional<WallTime> ParseTime(const std::string& text) {
  struct tm tm {};
  int ms = 0;
  char z = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &z, &consumed) != 8 ||
      z != 'Z' || static_cast<std::size_t>(consumed) != text.size()) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const time_t secs = timegm(&tm);
  return FromMillis(static_cast<std::int64_t>(secs) * 1000 + ms);
}

nlohmann::json LabelsToJson(const Labels& labels) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : labels) out[name] = value;
  return out;
}

Labels LabelsFromJson(const nlohmann::json& json) {
  Labels out;
  if (!json.is_object()) return out;
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

}  // namespace slipway::alerts
