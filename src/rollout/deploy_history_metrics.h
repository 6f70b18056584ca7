// The /metrics series derived from an app's stored release history: deploys by outcome,
// rollbacks, deploy durations and whether a deploy runs. Derived from the store on every scrape,
// so they survive a daemon restart; they are counters because releases are never deleted.
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "metrics/exposition.h"
#include "state/release_store.h"

namespace slipway::rollout {

// Deploy duration buckets, seconds (Prometheus `le`), then +Inf.
inline constexpr std::array<double, 10> kDeployDurationBounds = {1,   5,   10,  30,   60,
                                                                 120, 300, 600, 1800, 3600};

// slipway_deploys_total{app,outcome} (succeeded, failed, aborted; zeros included),
// slipway_rollbacks_total{app}, slipway_deploy_in_progress{app} and
// slipway_deploy_duration_seconds{app,outcome} (outcomes that have a finished release).
void WriteDeployHistoryMetrics(metrics::ExpositionWriter& out, std::string_view app,
                               const std::vector<state::ReleaseSummary>& history);

}  // namespace slipway::rollout
