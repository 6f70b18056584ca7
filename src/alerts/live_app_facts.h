// LiveAppFacts: what the rules read about one app during one evaluation: the proxy's counts of
// its serving release (metrics::ReleaseWindow: 5m is the sum of the last 300 one-second slots),
// replica exits and release incidents from the store.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "alerts/alert_rules.h"
#include "metrics/release_window.h"
#include "state/release_store.h"

namespace slipway::alerts {

class LiveAppFacts : public AppAlertFacts {
 public:
  // `window` is the serving release's (null when none serves or the proxy keeps none); `now`
  // and `wall_now` are the same instant on both clocks. `store` must outlive the facts.
  LiveAppFacts(state::ReleaseStore& store, std::string app, std::optional<std::int64_t> serving,
               std::shared_ptr<const metrics::ReleaseWindow> window,
               std::chrono::steady_clock::time_point now, WallTime wall_now);

  // No data: every proxy metric when there is no window; error_rate and the latencies when the
  // window had no requests. replica_restarts always has a value.
  std::optional<double> Value(AlertMetric metric, std::chrono::seconds window) override;
  std::vector<ReleaseIncident> IncidentsSince(WallTime since) override;
  std::optional<std::int64_t> serving_release() const override { return serving_; }
  // Where BurnRate reads from; without it, burn rates have no data.
  void SetBurnRate(
      std::function<std::optional<double>(const slo::Objective&, std::chrono::seconds)> source) {
    burn_rate_ = std::move(source);
  }
  std::optional<double> BurnRate(const slo::Objective& objective,
                                 std::chrono::seconds window) override {
    return burn_rate_ ? burn_rate_(objective, window) : std::nullopt;
  }

 private:
  const metrics::WindowCounts& Sum(std::chrono::seconds window);

  state::ReleaseStore& store_;
  std::string app_;
  std::optional<std::int64_t> serving_;
  std::shared_ptr<const metrics::ReleaseWindow> window_;
  std::chrono::steady_clock::time_point now_;
  WallTime wall_now_;
  std::map<std::int64_t, metrics::WindowCounts> sums_;
  std::function<std::optional<double>(const slo::Objective&, std::chrono::seconds)>
      burn_rate_;  // by window seconds, for this evaluation
};

}  // namespace slipway::alerts
