// WriteRequestMetrics: the series of one release's counters; and promtool's own lint of a page
// the writer builds (skipped when promtool is not installed).
#include "metrics/request_metrics.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace slipway::metrics {
namespace {

using std::chrono::milliseconds;

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

std::string ReleasePage() {
  RequestCounters counters(2);
  counters.RecordRequest(0, 200, HttpMethod::kGet, milliseconds(3));
  counters.RecordRequest(1, 200, HttpMethod::kGet, milliseconds(30));
  counters.RecordRequest(1, 503, HttpMethod::kGet, milliseconds(2'000));
  counters.RecordConnectError(0);
  counters.RecordRetry(0, RetryReason::kConnectError);
  ExpositionWriter out;
  WriteRequestMetrics(out, "web", "7", counters.Totals());
  RequestCounters local(1);
  local.RecordRequest(0, 400, HttpMethod::kOther, milliseconds(0));
  WriteRequestMetrics(out, "web", kNoRelease, local.Totals());
  // Label values promtool must accept once escaped.
  out.Gauge("slipway_test_escaping", "Odd label values.",
            {{"value", "quote\" backslash\\ newline\n ünïcode"}}, std::int64_t{1});
  return out.Text();
}

TEST(RequestMetrics, WritesEveryClassOfASeenMethodAndTheUpstreamCounters) {
  const std::string text = ReleasePage();
  const std::string get = R"(slipway_http_requests_total{app="web",release="7",code=)";
  EXPECT_TRUE(Has(text, get + R"("2xx",method="GET"} 2)")) << text;
  EXPECT_TRUE(Has(text, get + R"("5xx",method="GET"} 1)"));
  EXPECT_TRUE(Has(text, get + R"("4xx",method="GET"} 0)"));  // zeros of a seen method
  EXPECT_EQ(text.find(R"(release="7",code="2xx",method="POST")"), std::string::npos);
  const std::string bucket =
      R"(slipway_http_request_duration_seconds_bucket{app="web",release="7",)";
  EXPECT_TRUE(Has(text, bucket + R"(le="0.005"} 1)"));
  EXPECT_TRUE(Has(text, bucket + R"(le="0.05"} 2)"));
  EXPECT_TRUE(Has(text, bucket + R"(le="2.5"} 3)"));
  EXPECT_TRUE(Has(text, bucket + R"(le="+Inf"} 3)"));
  EXPECT_TRUE(
      Has(text, R"(slipway_http_request_duration_seconds_sum{app="web",release="7"} 2.033)"));
  EXPECT_TRUE(Has(text, R"(slipway_upstream_connect_errors_total{app="web",release="7"} 1)"));
  EXPECT_TRUE(Has(
      text, R"(slipway_upstream_retries_total{app="web",release="7",reason="connect_error"} 1)"));
  EXPECT_TRUE(
      Has(text, R"(slipway_upstream_retries_total{app="web",release="7",reason="canary_5xx"} 0)"));
  // The listener's own answers: requests and durations, no upstream series.
  EXPECT_TRUE(
      Has(text,
          R"(slipway_http_requests_total{app="web",release="none",code="4xx",method="other"} 1)"));
  EXPECT_EQ(text.find(R"(slipway_upstream_connect_errors_total{app="web",release="none"})"),
            std::string::npos);
}

TEST(RequestMetrics, PromtoolAcceptsThePage) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus; scripts/setup)";
  }
  char path[] = "/tmp/slipway-metrics-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << ReleasePage();
  const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  const int status = pclose(pipe);
  unlink(path);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "");  // not even a lint warning
}

}  // namespace
}  // namespace slipway::metrics
