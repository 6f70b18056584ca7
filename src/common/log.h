// Structured logging: one JSON object per line ({"ts","level","msg",...fields}).
// Thread-safe. Never pass secrets as fields; the secrets module adds redaction later.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace slipway::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// Sends log lines to stderr (default) or appends them to `path` when non-empty.
void Init(Level min_level, const std::string& path = {});

void Write(Level level, std::string_view msg,
           const nlohmann::json& fields = nlohmann::json::object());
inline void Debug(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) {
  Write(Level::kDebug, msg, f);
}
inline void Info(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) {
  Write(Level::kInfo, msg, f);
}
inline void Warn(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) {
  Write(Level::kWarn, msg, f);
}
inline void Error(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) {
  Write(Level::kError, msg, f);
}

}  // namespace slipway::log
