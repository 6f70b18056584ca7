#include "metrics/request_metrics.h"

#include <array>

namespace slipway::metrics {

void WriteRequestMetrics(ExpositionWriter& out, std::string_view app, std::string_view release,
                         const RequestTotals& totals) {
  for (int m = 0; m < kHttpMethods; ++m) {
    std::uint64_t seen = 0;
    for (int c = 0; c < kStatusClasses; ++c) seen += totals.requests[c][m];
    if (seen == 0) continue;
    const std::string_view method = HttpMethodName(static_cast<HttpMethod>(m));
    for (int c = 0; c < kStatusClasses; ++c) {
      out.Counter(
          "slipway_http_requests_total",
          "Requests the proxy answered, by the release that answered last (\"none\": "
          "the proxy itself), status class and method.",
          {{"app", app}, {"release", release}, {"code", StatusClassName(c)}, {"method", method}},
          totals.requests[c][m]);
    }
  }
  out.Histogram("slipway_http_request_duration_seconds",
                "Time from a request's head to the end of its answer, as the proxy saw it.",
                {{"app", app}, {"release", release}}, kDurationBounds, totals.duration,
                static_cast<double>(totals.duration_sum_us) / 1e6);
  out.Counter("slipway_http_client_aborts_total",
              "Requests whose client went away before any answer (not in requests_total).",
              {{"app", app}, {"release", release}}, totals.client_aborts);
  if (release == kNoRelease) return;
  out.Counter("slipway_upstream_connect_errors_total",
              "Failed connects to the release's replicas (connect timeouts included).",
              {{"app", app}, {"release", release}}, totals.connect_errors);
  for (int r = 0; r < kRetryReasons; ++r) {
    out.Counter("slipway_upstream_retries_total",
                "Requests sent to an upstream again after the release's replica failed them.",
                {{"app", app},
                 {"release", release},
                 {"reason", RetryReasonName(static_cast<RetryReason>(r))}},
                totals.retries[r]);
  }
}

}  // namespace slipway::metrics
