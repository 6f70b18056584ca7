// The page the daemon's /metrics serves: the daemon's own process metrics under their standard
// names (process_cpu_seconds_total, ...), slipway_build_info, every app's series and its SLOs.
#pragma once

#include <string>

#include "rollout/fleet.h"
#include "slo/slo_sampler.h"

namespace slipway::daemon {

// Reads everything afresh; on the controller thread (the Fleet's).
std::string RenderMetricsPage(const rollout::Fleet& fleet, slo::SloSampler& slo);

}  // namespace slipway::daemon
