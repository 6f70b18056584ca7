// WriteDeployHistoryMetrics: outcomes, rollbacks, the in-progress gauge and the duration
// histogram, from release summaries as the store gives them.
#include "rollout/deploy_history_metrics.h"

#include <gtest/gtest.h>

namespace slipway::rollout {
namespace {

using state::Outcome;
using state::ReleaseSummary;

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(DeployHistoryMetrics, CountsOutcomesRollbacksAndDurations) {
  const std::vector<ReleaseSummary> history = {
      {.number = 1, .outcome = Outcome::kSucceeded, .duration_ms = 800},
      {.number = 2, .outcome = Outcome::kFailed, .duration_ms = 61'000},
      {.number = 3, .rollback = true, .outcome = Outcome::kSucceeded, .duration_ms = 5'000},
      {.number = 4, .outcome = Outcome::kAborted, .duration_ms = 4'000'000},
      {.number = 5, .outcome = Outcome::kDeploying, .duration_ms = std::nullopt},
  };
  metrics::ExpositionWriter out;
  WriteDeployHistoryMetrics(out, "web", history);
  const std::string text = out.Text();
  EXPECT_TRUE(Has(text, R"(slipway_deploys_total{app="web",outcome="succeeded"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(slipway_deploys_total{app="web",outcome="failed"} 1)"));
  EXPECT_TRUE(Has(text, R"(slipway_deploys_total{app="web",outcome="aborted"} 1)"));
  EXPECT_TRUE(Has(text, R"(slipway_rollbacks_total{app="web"} 1)"));
  EXPECT_TRUE(Has(text, R"(slipway_deploy_in_progress{app="web"} 1)"));
  // 0.8 s and 5 s (le is inclusive) for the succeeded ones.
  const std::string ok = R"(slipway_deploy_duration_seconds_bucket{app="web",outcome="succeeded",)";
  EXPECT_TRUE(Has(text, ok + R"(le="1"} 1)"));
  EXPECT_TRUE(Has(text, ok + R"(le="5"} 2)"));
  EXPECT_TRUE(Has(text, ok + R"(le="+Inf"} 2)"));
  EXPECT_TRUE(
      Has(text, R"(slipway_deploy_duration_seconds_sum{app="web",outcome="succeeded"} 5.8)"));
  EXPECT_TRUE(Has(text, R"(slipway_deploy_duration_seconds_count{app="web",outcome="failed"} 1)"));
  // Past the last bound: only +Inf holds it.
  const std::string aborted =
      R"(slipway_deploy_duration_seconds_bucket{app="web",outcome="aborted",)";
  EXPECT_TRUE(Has(text, aborted + R"(le="3600"} 0)"));
  EXPECT_TRUE(Has(text, aborted + R"(le="+Inf"} 1)"));
}

TEST(DeployHistoryMetrics, NoHistoryStillHasZeroCountersAndNoHistogram) {
  metrics::ExpositionWriter out;
  WriteDeployHistoryMetrics(out, "new", {});
  const std::string text = out.Text();
  EXPECT_TRUE(Has(text, R"(slipway_deploys_total{app="new",outcome="succeeded"} 0)"));
  EXPECT_TRUE(Has(text, R"(slipway_rollbacks_total{app="new"} 0)"));
  EXPECT_TRUE(Has(text, R"(slipway_deploy_in_progress{app="new"} 0)"));
  EXPECT_EQ(text.find("slipway_deploy_duration_seconds"), std::string::npos);
}

}  // namespace
}  // namespace slipway::rollout
