// strategy (rolling, blue-green, canary steps), analysis checks and feature flags.
#include <gtest/gtest.h>

#include "spec/delivery_reader.h"
#include "spec/spec_parser.h"

namespace slipway::spec {
namespace {

using namespace std::chrono_literals;

AppSpec ParseOk(const std::string& tail) {
  ParseOutcome outcome = ParseAppSpec("app: hello\ncommand: ./hello\n" + tail, "app.yaml", "/srv");
  for (const Diagnostic& d : outcome.diagnostics) ADD_FAILURE() << d.ToString();
  return outcome.spec.value_or(AppSpec{});
}

TEST(DeliverySpecTest, DefaultsAreRollingWithTheDefaultChecks) {
  AppSpec spec = ParseOk("");
  EXPECT_EQ(spec.strategy, Strategy::kRolling);
  ASSERT_EQ(spec.analysis.checks.size(), 2u);
  EXPECT_EQ(spec.analysis.checks[0].metric, AnalysisMetric::kErrorRate);
  EXPECT_DOUBLE_EQ(spec.analysis.checks[0].max, 0.05);
  EXPECT_EQ(spec.analysis.checks[1].metric, AnalysisMetric::kLatencyP95);
  EXPECT_DOUBLE_EQ(spec.analysis.checks[1].max, 1.0);
  EXPECT_EQ(spec.progress_deadline.after, 10min);
  EXPECT_TRUE(spec.progress_deadline.abort);
}

TEST(DeliverySpecTest, CanaryStepsInOrder) {
  AppSpec spec = ParseOk(R"(strategy:
  type: canary
  header: X-Canary
  sticky_cookie: canary
  progress_deadline: 2m
  on_progress_deadline: pause
  steps:
    - weight: 10
    - pause: 30s
    - weight: 50
    - pause: {}
    - pause:
        duration: 1m
    - analysis: 20s
    - weight: 100
)");
  EXPECT_EQ(spec.strategy, Strategy::kCanary);
  EXPECT_EQ(spec.canary.header, "X-Canary");
  EXPECT_EQ(spec.canary.sticky_cookie, "canary");
  EXPECT_EQ(spec.progress_deadline.after, 2min);
  EXPECT_FALSE(spec.progress_deadline.abort);
  const auto& steps = spec.canary.steps;
  ASSERT_EQ(steps.size(), 7u);
  EXPECT_EQ(steps[0].kind, CanaryStep::Kind::kWeight);
  EXPECT_EQ(steps[0].weight, 10);
  EXPECT_EQ(steps[0].line, 10);
  EXPECT_EQ(steps[1].kind, CanaryStep::Kind::kPause);
  EXPECT_EQ(steps[1].pause, Millis(30s));
  EXPECT_EQ(steps[3].kind, CanaryStep::Kind::kPause);
  EXPECT_FALSE(steps[3].pause.has_value()) << "pause: {} waits for resume";
  EXPECT_EQ(steps[4].pause, Millis(1min));
  EXPECT_EQ(steps[5].kind, CanaryStep::Kind::kAnalysis);
  EXPECT_EQ(steps[5].analysis, Millis(20s));
  EXPECT_EQ(steps[6].weight, 100);
}

TEST(DeliverySpecTest, CanaryWithoutStepsGetsTheDefaultSteps) {
  AppSpec spec = ParseOk("strategy:\n  type: canary\n");
  ASSERT_EQ(spec.canary.steps.size(), 4u);
  EXPECT_EQ(spec.canary.steps[0].weight, 20);
  EXPECT_EQ(spec.canary.steps[1].kind, CanaryStep::Kind::kAnalysis);
  EXPECT_EQ(spec.canary.header, "X-Canary");
  EXPECT_EQ(spec.canary.sticky_cookie, "");
}

TEST(DeliverySpecTest, BlueGreen) {
  AppSpec spec = ParseOk(R"(strategy:
  type: blue-green
  preview_listen: 127.0.0.1:9001
  auto_promote: 15s
  scale_down_delay: 1m
)");
  EXPECT_EQ(spec.strategy, Strategy::kBlueGreen);
  EXPECT_EQ(spec.blue_green.preview_listen, "127.0.0.1:9001");
  EXPECT_EQ(spec.blue_green.auto_promote, Millis(15s));
  EXPECT_EQ(spec.blue_green.scale_down_delay, 1min);
  AppSpec manual = ParseOk("strategy:\n  type: blue-green\n  auto_promote: false\n");
  EXPECT_FALSE(manual.blue_green.auto_promote.has_value());
  AppSpec by_default = ParseOk("strategy:\n  type: blue-green\n");
  EXPECT_FALSE(by_default.blue_green.auto_promote.has_value()) << "manual unless asked";
  EXPECT_EQ(by_default.blue_green.preview_listen, "");
}

TEST(DeliverySpecTest, AnalysisChecksOfEveryKind) {
  AppSpec spec = ParseOk(R"(analysis:
  interval: 2s
  window: 45s
  failure_limit: 2
  inconclusive_limit: 7
  checks:
    - metric: error_rate
      max: 2%
      min_samples: 50
    - name: errors-vs-stable
      metric: error_rate_vs_baseline
      max: 0.01
    - metric: latency_p95
      max: 250ms
    - metric: latency_p99
      max: 2s
    - metric: latency_p95_vs_baseline
      max: 1.5
    - metric: mann_whitney
      confidence: 0.99
      min_effect: 20ms
)");
  const AnalysisConfig& a = spec.analysis;
  EXPECT_EQ(a.interval, 2s);
  EXPECT_EQ(a.window, 45s);
  EXPECT_EQ(a.failure_limit, 2);
  EXPECT_EQ(a.inconclusive_limit, 7);
  ASSERT_EQ(a.checks.size(), 6u);
  EXPECT_EQ(a.checks[0].name, "error_rate");
  EXPECT_DOUBLE_EQ(a.checks[0].max, 0.02);
  EXPECT_EQ(a.checks[0].min_samples, 50u);
  EXPECT_EQ(a.checks[1].name, "errors-vs-stable");
  EXPECT_DOUBLE_EQ(a.checks[1].max, 0.01);
  EXPECT_DOUBLE_EQ(a.checks[2].max, 0.25) << "latency max is kept in seconds";
  EXPECT_DOUBLE_EQ(a.checks[3].max, 2.0);
  EXPECT_DOUBLE_EQ(a.checks[4].max, 1.5);
  EXPECT_EQ(a.checks[5].metric, AnalysisMetric::kMannWhitney);
  EXPECT_DOUBLE_EQ(a.checks[5].confidence, 0.99);
  EXPECT_DOUBLE_EQ(a.checks[5].min_effect, 0.020);
  EXPECT_EQ(a.checks[5].line, 21);
}

TEST(DeliverySpecTest, Flags) {
  AppSpec spec = ParseOk("flags:\n  new_checkout: true\n  dark_mode: false\n  beta: 25%\n");
  ASSERT_EQ(spec.flags.size(), 3u);
  EXPECT_TRUE(spec.flags["new_checkout"].on);
  EXPECT_FALSE(spec.flags["dark_mode"].on);
  EXPECT_TRUE(spec.flags["beta"].percent_based);
  EXPECT_DOUBLE_EQ(spec.flags["beta"].percent, 25);
  EXPECT_EQ(spec.flags["beta"].ToString(), "25%");
  EXPECT_EQ(spec.flags["new_checkout"].ToString(), "true");
  EXPECT_EQ(ParseFlagValue("12.5%")->ToString(), "12.5%");
  EXPECT_FALSE(ParseFlagValue("yes").has_value());
  EXPECT_FALSE(ParseFlagValue("101%").has_value());
  EXPECT_FALSE(ParseFlagValue("0.5").has_value()) << "a bare number is ambiguous";
}

TEST(DeliverySpecTest, Names) {
  EXPECT_STREQ(StrategyName(Strategy::kBlueGreen), "blue-green");
  EXPECT_STREQ(AnalysisMetricName(AnalysisMetric::kLatencyP95VsBaseline),
               "latency_p95_vs_baseline");
}

}  // namespace
}  // namespace slipway::spec
