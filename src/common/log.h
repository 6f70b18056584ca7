// Structured logging: Slipway's own log lines, one JSON object per line, in this order:
//   {"time":"2026-05-01T12:00:00.123Z","level":"info","component":"rollout","app":"hello",
//    "release":3,"request_id":"...","message":"...","fields":{...}}
// "app", "release" and "request_id" appear only when known: a call passes them among its fields
// (`{"app", app_}`, `{"release", 3}`, `{"request_id", id}`) and they are lifted to the top level;
// every other field goes under "fields" (omitted when empty). Each module logs through its own
// `Logger` (the component), e.g. `constexpr log::Logger kLog{"rollout"};`. docs/logs.md.
// Thread-safe. Never pass secrets as fields; the secrets module adds redaction later.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace slipway::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// "debug", "info", "warn" or "error".
const char* LevelName(Level level);

// Sends log lines to stderr, and also appends them to `path` when non-empty (rotated by rename at
// `max_bytes`: "x.log" becomes "x.1.log", spdlog's naming), for `slipway logs` to read.
void Init(Level min_level, const std::string& path = {}, std::size_t max_bytes = 10 << 20);

// True when a line of `level` would be written.
bool Enabled(Level level);

// One line as Write() emits it (without the newline); pure, for tests. `time` is the formatted
// UTC time ("2026-05-01T12:00:00.123Z").
std::string FormatLine(std::string_view time, Level level, std::string_view component,
                       std::string_view message, const nlohmann::json& fields);

void Write(Level level, std::string_view component, std::string_view message,
           const nlohmann::json& fields = nlohmann::json::object());

// The log of one component: a name and nothing else, so `constexpr` and free to copy.
class Logger {
 public:
  constexpr explicit Logger(std::string_view component) : component_(component) {}

  void Debug(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) const {
    if (Enabled(Level::kDebug)) Write(Level::kDebug, component_, msg, f);
  }
  void Info(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) const {
    Write(Level::kInfo, component_, msg, f);
  }
  void Warn(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) const {
    Write(Level::kWarn, component_, msg, f);
  }
  void Error(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) const {
    Write(Level::kError, component_, msg, f);
  }
  constexpr std::string_view component() const { return component_; }

 private:
  std::string_view component_;
};

}  // namespace slipway::log
