#include "common/log.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/log_time.h"

namespace slipway::log {
namespace {

std::mutex g_mu;
std::shared_ptr<spdlog::logger> g_logger;
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

std::shared_ptr<spdlog::logger> CurrentLogger() {
  std::lock_guard lock(g_mu);
  if (!g_logger) {
    g_logger = std::make_shared<spdlog::logger>("slipway",
                                                std::make_shared<spdlog::sinks::stderr_sink_mt>());
    g_logger->set_pattern("%v");
  }
  return g_logger;
}

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

}  // namespace

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

void Init(Level min_level, const std::string& path, std::size_t max_bytes) {
  g_min_level = static_cast<int>(min_level);
  std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_sink_mt>()};
  if (!path.empty()) {
    // Rotation renames path to path.1 (nothing is copied, so nothing is lost).
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(path, max_bytes, 1));
  }
  auto logger = std::make_shared<spdlog::logger>("slipway", sinks.begin(), sinks.end());
  logger->set_pattern("%v");
  logger->flush_on(spdlog::level::info);
  std::lock_guard lock(g_mu);
  g_logger = std::move(logger);
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

std::string FormatLine(std::string_view time, Level level, std::string_view component,
                       std::string_view message, const nlohmann::json& fields) {
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["time"] = time;
  line["level"] = LevelName(level);
  line["component"] = component;
  nlohmann::json rest = nlohmann::json::object();
  const nlohmann::json* app = nullptr;
  const nlohmann::json* release = nullptr;
  const nlohmann::json* request_id = nullptr;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      const nlohmann::json& v = it.value();
      if (it.key() == "app" && v.is_string() && !v.get_ref<const std::string&>().empty()) {
        app = &v;
      } else if (it.key() == "release" && v.is_number_integer() && v.get<std::int64_t>() > 0) {
        release = &v;
      } else if (it.key() == "request_id" && v.is_string() &&
                 !v.get_ref<const std::string&>().empty()) {
        request_id = &v;
      } else {
        rest[it.key()] = v;
      }
    }
  }
  if (app) line["app"] = *app;
  if (release) line["release"] = *release;
  if (request_id) line["request_id"] = *request_id;
  line["message"] = message;
  if (!rest.empty()) line["fields"] = std::move(rest);
  return line.dump(-1, ' ', false, kReplace);
}

void Write(Level level, std::string_view component, std::string_view message,
           const nlohmann::json& fields) {
  if (!Enabled(level)) return;
  CurrentLogger()->info(
      FormatLine(LogTime(std::chrono::system_clock::now()), level, component, message, fields));
}

}  // namespace slipway::log
