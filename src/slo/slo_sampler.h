// SloSampler: the daemon's side of the SLOs. Once a second, on the controller's io_context, it
// reads each running app's request counts (cumulative; it keeps the deltas) and whether the app
// could serve, into that app's SloLedger; every 10 s (and at Stop) it stores the minutes that
// changed (SloStore), so a crash loses at most those 10 s; hourly it prunes rows older than 31
// days. At Start it reads the last 30 days back, so the windows survive a restart.
//
// It answers for an app: the report (`GET /v1/apps/APP/slo`, `slipway status`), the /metrics
// series, and burn rates for the ErrorBudgetBurn alert. An app's objectives are those of its
// serving release's spec, as last seen. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "common/result.h"
#include "metrics/exposition.h"
#include "slo/slo_ledger.h"
#include "slo/slo_objective.h"
#include "spec/app_spec.h"
#include "state/slo_store.h"

namespace slipway::slo {

// What the sampler reads of one app.
struct AppTraffic {
  // Since some fixed start (the app's controller), monotonic: the sampler takes differences.
  // A count lower than the previous one starts again from zero.
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t slow = 0;
  bool serving = false;  // the app is meant to serve now (availability samples this second)
  bool down = false;     // ...and no replica is ready to
  std::optional<spec::SloSpec> slo;  // the serving release's objectives
};

struct SloSamplerEnv {
  boost::asio::io_context* io = nullptr;
  state::SloStore* store = nullptr;
  std::function<std::map<std::string, AppTraffic>()> read_traffic;
  std::function<std::chrono::system_clock::time_point()> wall_now = [] {
    return std::chrono::system_clock::now();
  };
};

class SloSampler {
 public:
  static constexpr std::chrono::seconds kFlushInterval{10};
  static constexpr std::chrono::hours kRetention{31 * 24};  // the 30d window and a day's margin

  explicit SloSampler(SloSamplerEnv env);
  ~SloSampler();
  SloSampler(const SloSampler&) = delete;
  SloSampler& operator=(const SloSampler&) = delete;

  // Reads the stored minutes back, prunes, and samples every second.
  Status Start();
  // Takes a last sample of the counts (not of availability: the daemon is stopping its apps),
  // stores every changed minute, and samples no more.
  void Stop();
  // Reads the apps now (the counts, and availability once per wall second).
  void Sample();
  // Reads the counts (not availability) and stores the minutes changed since the previous flush.
  Status Flush();

  // The app's objectives over 1h, 1d and 30d, and the 1h burn rate (docs/slo.md).
  nlohmann::json ReportJson(const std::string& app);
  // slipway_slo_* of every app with objectives (docs/metrics.md).
  void WriteMetrics(metrics::ExpositionWriter& out);
  // `objective` of `app` over the `window` ending now; nullopt when the app has no counts.
  std::optional<Judgement> JudgeWindow(const std::string& app, const Objective& objective,
                                       std::chrono::seconds window);

 private:
  struct AppState {
    SloLedger ledger;
    AppTraffic last;  // the previous reading's counts
    bool seen = false;
    std::optional<spec::SloSpec> slo;
  };
  void Tick();
  std::int64_t NowSecond() const;
  void Read(bool serving_samples);

  SloSamplerEnv env_;
  std::map<std::string, AppState> apps_;
  boost::asio::steady_timer timer_;
  bool running_ = false;
  std::chrono::steady_clock::time_point next_flush_{};
  std::chrono::steady_clock::time_point next_prune_{};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace slipway::slo
