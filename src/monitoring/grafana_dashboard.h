// A Grafana dashboard (JSON model, schemaVersion 39) of one app over Slipway's /metrics series:
// traffic (request rate by code class, error rate, latency quantiles, in-flight), releases
// (traffic share per release, canary weight, serving release), replicas (ready, restarts, CPU,
// resident memory), deploys (by outcome, rollbacks) and, with an `slo` section, SLOs (the SLI of
// each objective over 1h, 1d and 30d with its target, the error budget remaining, the burn rate;
// from the slipway_slo_* series). The thresholds of the app's built-in alert rules that are on
// are drawn as lines on the panels that show their metric. Pure.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "spec/app_spec.h"

namespace slipway::monitoring {

// The dashboard for `app`: one `datasource` variable (type prometheus) and a constant `app`
// variable (the app is baked in, and so are its thresholds); uid "slipway-APP". Every panel has
// a unique id, a gridPos and the datasource; its queries use $app, $__rate_interval and
// $__range, which Grafana fills in.
nlohmann::json GrafanaDashboard(const std::string& app, const spec::AlertsConfig& alerts,
                                const spec::SloSpec& slo = {});

}  // namespace slipway::monitoring
