#include "alerts/live_app_facts.h"

#include <cmath>

namespace slipway::alerts {

LiveAppFacts::LiveAppFacts(state::ReleaseStore& store, std::string app,
                           std::optional<std::int64_t> serving,
                           std::shared_ptr<const metrics::ReleaseWindow> window,
                           std::chrono::steady_clock::time_point now, WallTime wall_now)
    : store_(store),
      app_(std::move(app)),
      serving_(serving),
      window_(std::move(window)),
      now_(now),
      wall_now_(wall_now) {}

const metrics::WindowCounts& LiveAppFacts::Sum(std::chrono::seconds window) {
  auto it = sums_.find(window.count());
  if (it == sums_.end()) it = sums_.emplace(window.count(), window_->Sum(now_, window)).first;
  return it->second;
}

std::optional<double> LiveAppFacts::Value(AlertMetric metric, std::chrono::seconds window) {
  if (metric == AlertMetric::kReplicaRestarts) {
    // Every unexpected exit is a replica.exited event (planned stops record none).
    auto count = store_.CountEventsSince(app_, "replica.exited", FormatTime(wall_now_ - window));
    if (!count) return std::nullopt;
    return static_cast<double>(*count);
  }
  if (!window_) return std::nullopt;
  const metrics::WindowCounts& counts = Sum(window);
  auto known = [](double v) { return std::isnan(v) ? std::nullopt : std::optional<double>(v); };
  switch (metric) {
    case AlertMetric::kRequests:
      return static_cast<double>(counts.requests);
    case AlertMetric::kErrors:
      return static_cast<double>(counts.errors);
    case AlertMetric::kErrorRate:
      return known(counts.ErrorRate());
    case AlertMetric::kRequestRate:
      return static_cast<double>(counts.requests) / static_cast<double>(window.count());
    case AlertMetric::kLatencyP50:
      return known(counts.LatencyQuantile(0.50));
    case AlertMetric::kLatencyP90:
      return known(counts.LatencyQuantile(0.90));
    case AlertMetric::kLatencyP95:
      return known(counts.LatencyQuantile(0.95));
    case AlertMetric::kLatencyP99:
      return known(counts.LatencyQuantile(0.99));
    case AlertMetric::kReplicaRestarts:
      break;
  }
  return std::nullopt;
}

std::vector<ReleaseIncident> LiveAppFacts::IncidentsSince(WallTime since) {
  std::vector<ReleaseIncident> out;
  auto releases = store_.ReleaseIncidentsSince(app_, FormatTime(since));
  if (!releases) return out;
  for (const state::Release& r : *releases) {
    ReleaseIncident incident;
    incident.release = r.number;
    incident.failed = r.outcome == state::Outcome::kFailed;
    incident.aborted = r.outcome == state::Outcome::kAborted;
    incident.rollback_of = r.rollback_of;
    incident.reason = r.reason;
    incident.created_by = r.created_by;
    incident.created_at = ParseTime(r.created_at).value_or(wall_now_);
    if (!r.finished_at.empty()) incident.finished_at = ParseTime(r.finished_at);
    out.push_back(std::move(incident));
  }
  return out;
}

}  // namespace slipway::alerts
