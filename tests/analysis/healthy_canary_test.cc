// Statistical property: through a real ReleaseWindow, a canary drawn from the baseline's
// distribution passes on every seed, and one 200 ms slower fails on every seed.
#include <gtest/gtest.h>

#include <random>

#include "analysis/canary_judge.h"
#include "metrics/release_window.h"

namespace slipway::analysis {
namespace {

using Clock = metrics::ReleaseWindow::Clock;
using std::chrono::microseconds;

constexpr int kSeeds = 20;
constexpr int kRequests = 1500;  // each side, over the window
constexpr auto kWindow = std::chrono::seconds(30);
const Clock::time_point kNow = Clock::time_point(std::chrono::hours(1000));

spec::AnalysisConfig Config() {
  spec::AnalysisCheck error_rate;
  error_rate.metric = spec::AnalysisMetric::kErrorRate;
  error_rate.max = 0.05;
  spec::AnalysisCheck p95_ratio;
  p95_ratio.metric = spec::AnalysisMetric::kLatencyP95VsBaseline;
  p95_ratio.max = 1.5;
  spec::AnalysisCheck mann_whitney;
  mann_whitney.metric = spec::AnalysisMetric::kMannWhitney;
  mann_whitney.confidence = 0.95;
  mann_whitney.min_effect = 0.010;
  spec::AnalysisConfig config;
  config.checks = {error_rate, p95_ratio, mann_whitney};
  return config;
}

// kRequests over the window from 2 proxy workers: lognormal latency around 5 ms plus
// `added`, 0.1% 5xx.
metrics::WindowCounts Traffic(std::mt19937& rng, microseconds added) {
  std::lognormal_distribution<double> latency(std::log(0.005), 0.5);
  std::bernoulli_distribution error(0.001);
  metrics::ReleaseWindow window(2);
  for (int i = 0; i < kRequests; ++i) {
    // The window is the seconds (now - 30 s, now], the current one included.
    const auto at = kNow - kWindow + std::chrono::seconds(1) +
                    std::chrono::duration_cast<microseconds>(kWindow) * i / kRequests;
    window.Record(i % 2, error(rng) ? 503 : 200,
                  microseconds(std::lround(latency(rng) * 1e6)) + added, at);
  }
  return window.Sum(kNow, kWindow);
}

TEST(CanaryJudgeProperty, HealthyCanaryPassesEverySeed) {
  for (unsigned seed = 1; seed <= kSeeds; ++seed) {
    std::mt19937 rng(seed);
    const auto baseline = Traffic(rng, microseconds(0));
    const auto canary = Traffic(rng, microseconds(0));
    ASSERT_EQ(canary.requests, static_cast<std::uint64_t>(kRequests));
    const Evaluation e = Evaluate(Config(), canary, baseline);
    EXPECT_EQ(e.verdict, Verdict::kPass) << "seed " << seed << ": " << e.summary;
  }
}

TEST(CanaryJudgeProperty, CanaryWith200msMoreLatencyFailsEverySeed) {
  for (unsigned seed = 1; seed <= kSeeds; ++seed) {
    std::mt19937 rng(seed);
    const auto baseline = Traffic(rng, microseconds(0));
    const auto canary = Traffic(rng, std::chrono::milliseconds(200));
    const Evaluation e = Evaluate(Config(), canary, baseline);
    EXPECT_EQ(e.verdict, Verdict::kFail) << "seed " << seed << ": " << e.summary;
    ASSERT_EQ(e.checks.size(), 3u);
    EXPECT_EQ(e.checks[0].verdict, Verdict::kPass) << e.checks[0].message;  // errors are fine
    EXPECT_EQ(e.checks[1].verdict, Verdict::kFail) << e.checks[1].message;
    EXPECT_EQ(e.checks[2].verdict, Verdict::kFail) << e.checks[2].message;
  }
}

}  // namespace
}  // namespace slipway::analysis
