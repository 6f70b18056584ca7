#include "common/log.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include <fmt/chrono.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace slipway::log {
namespace {

std::mutex g_mu;
std::shared_ptr<spdlog::logger> g_logger;
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

std::shared_ptr<spdlog::logger> Logger() {
  std::lock_guard lock(g_mu);
  if (!g_logger) {
    g_logger = std::make_shared<spdlog::logger>("slipway",
                                                std::make_shared<spdlog::sinks::stderr_sink_mt>());
    g_logger->set_pattern("%v");
  }
  return g_logger;
}

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

}  // namespace

void Init(Level min_level, const std::string& path) {
  g_min_level = static_cast<int>(min_level);
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (path.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
  }
  auto logger = std::make_shared<spdlog::logger>("slipway", sink);
  logger->set_pattern("%v");
  logger->flush_on(spdlog::level::info);
  std::lock_guard lock(g_mu);
  g_logger = std::move(logger);
}

void Write(Level level, std::string_view msg, const nlohmann::json& fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  nlohmann::json line = nlohmann::json::object();
  auto now = std::chrono::system_clock::now();
  line["ts"] =
      fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::floor<std::chrono::milliseconds>(now));
  line["level"] = LevelName(level);
  line["msg"] = msg;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  Logger()->info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace slipway::log
