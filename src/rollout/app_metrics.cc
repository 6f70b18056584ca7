// AppController::WriteMetrics: one app's series for /metrics, read on the controller thread from
// what the controller holds (replica units, the releases' request counters, the rollout) and
// from the proxy's per-backend atomics. Names, types and labels: docs/metrics.md.
#include <string>

#include "metrics/request_metrics.h"
#include "proxy/balancer.h"
#include "rollout/app_controller.h"
#include "runtime/process_usage.h"

namespace slipway::rollout {

void AppController::WriteMetrics(metrics::ExpositionWriter& out) const {
  const std::string_view app = app_;
  for (const auto& [release, counters] : counters_) {
    const std::string label = std::to_string(release);
    metrics::WriteRequestMetrics(out, app, label, counters->Totals());
    std::int64_t in_flight = 0;
    for (const auto& u : units_) {
      if (u->release() == release) in_flight += u->backend()->inflight.load();
    }
    out.Gauge("slipway_http_requests_in_flight",
              "Requests being forwarded to the release's replicas right now.",
              {{"app", app}, {"release", label}}, in_flight);
  }
  metrics::WriteRequestMetrics(out, app, metrics::kNoRelease, local_counters_->Totals());

  const auto now = std::chrono::steady_clock::now();
  for (const auto& u : units_) {
    if (u->stopped()) continue;  // gone; reaped soon
    const proxy::Backend& backend = *u->backend();
    const std::string release = std::to_string(u->release());
    const metrics::Labels labels = {{"app", app}, {"release", release}, {"replica", u->name()}};
    out.Gauge("slipway_replica_ready",
              "1 while the replica passes its readiness probe (and is not retiring), else 0.",
              labels, std::int64_t{u->ready() && !u->retiring()});
    out.Gauge("slipway_replica_requests_in_flight",
              "Requests being forwarded to the replica right now.", labels,
              std::int64_t{backend.inflight.load()});
    out.Counter("slipway_replica_restarts_total",
                "Times the replica's process was restarted after it exited on its own.", labels,
                static_cast<std::uint64_t>(u->restarts()));
    out.Counter("slipway_replica_ejections_total",
                "Times passive health ejected the replica from the proxy's pool.", labels,
                backend.ejections.load());
    out.Gauge("slipway_replica_ejected", "1 while the replica is ejected, else 0.", labels,
              std::int64_t{proxy::Balancer::Ejected(backend, now)});
    if (const int pid = u->pid(); pid > 0) {
      if (auto usage = runtime::ReadProcessUsage(pid)) {
        out.Counter("slipway_replica_cpu_seconds_total",
                    "User and system CPU time of the replica's process (restarts begin at 0).",
                    labels, usage->cpu_seconds);
        out.Gauge("slipway_replica_resident_memory_bytes",
                  "Resident memory of the replica's process.", labels,
                  static_cast<std::int64_t>(usage->resident_bytes));
      }
    }
  }

  if (serving_release_) {
    out.Gauge("slipway_app_serving_release", "The number of the release serving the app.",
              {{"app", app}}, *serving_release_);
  }
  if (progressive_) {
    const RolloutPosition position = PositionOf(*progressive_);
    const std::string release = std::to_string(position.release);
    const metrics::Labels labels = {{"app", app}, {"release", release}};
    out.Gauge("slipway_rollout_step",
              "The canary step running, from 1 (0 for blue-green); only while a rollout runs.",
              labels, std::int64_t{position.step});
    out.Gauge("slipway_rollout_steps", "The canary steps of the rollout's spec (0 for blue-green).",
              labels, std::int64_t{position.steps});
    out.Gauge("slipway_rollout_canary_weight_percent",
              "The new release's share of the traffic without a routing header or cookie.", labels,
              std::int64_t{canary_weight_});
    out.Gauge("slipway_rollout_paused", "1 while the rollout is paused, else 0.", labels,
              std::int64_t{position.paused});
  }
}

}  // namespace slipway::rollout
