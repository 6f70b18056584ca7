// The /metrics series of one RequestCounters: what the proxy counted for one release of an app
// (or, with release "none", what an app's listener answered itself). The names and labels are
// listed in docs/metrics.md.
#pragma once

#include <string_view>

#include "metrics/exposition.h"
#include "metrics/request_counters.h"

namespace slipway::metrics {

// The release label of the requests a listener answered without a backend.
inline constexpr std::string_view kNoRelease = "none";

// slipway_http_requests_total{app,release,code,method} (every status class of each method that
// has a request, zeros included, so an error rate has its series before its first error),
// slipway_http_request_duration_seconds{app,release} and slipway_http_client_aborts_total; and
// for a release (not kNoRelease), slipway_upstream_connect_errors_total and
// slipway_upstream_retries_total{reason}.
void WriteRequestMetrics(ExpositionWriter& out, std::string_view app, std::string_view release,
                         const RequestTotals& totals);

}  // namespace slipway::metrics
