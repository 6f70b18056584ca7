// JudgeCheck at the boundaries of each check, inconclusive cases, and Evaluate's combining.
#include "analysis/canary_judge.h"
#include "spec/delivery_reader.h"

#include <gtest/gtest.h>

#include <cmath>

namespace slipway::analysis {
namespace {

using spec::AnalysisMetric;
using std::chrono::milliseconds;

constexpr AnalysisMetric kAllMetrics[] = {AnalysisMetric::kErrorRate,
                                          AnalysisMetric::kLatencyP95,
                                          AnalysisMetric::kLatencyP99,
                                          AnalysisMetric::kErrorRateVsBaseline,
                                          AnalysisMetric::kLatencyP95VsBaseline,
                                          AnalysisMetric::kMannWhitney};

// `requests` requests, `errors` of them 5xx, all taking `latency`.
metrics::WindowCounts Counts(std::uint64_t requests, std::uint64_t errors,
                             milliseconds latency = milliseconds(10)) {
  metrics::WindowCounts counts;
  counts.requests = requests;
  counts.errors = errors;
  counts.latency[metrics::LatencyBucketFor(latency)] = requests;
  return counts;
}

spec::AnalysisCheck Check(AnalysisMetric metric, double max, std::uint64_t min_samples = 20) {
  spec::AnalysisCheck check;
  check.metric = metric;
  check.max = max;
  check.min_samples = min_samples;
  return check;
}

const metrics::WindowCounts kNoTraffic;

TEST(JudgeCheck, ErrorRateFailsOnlyAboveMax) {
  const auto check = Check(AnalysisMetric::kErrorRate, 0.05);
  const CheckResult at_max = JudgeCheck(check, Counts(100, 5), kNoTraffic);
  EXPECT_EQ(at_max.verdict, Verdict::kPass) << at_max.message;
  EXPECT_DOUBLE_EQ(at_max.value, 0.05);
  EXPECT_EQ(at_max.message, "error rate 5.0% <= 5.0% (100 requests)");

  const CheckResult above = JudgeCheck(check, Counts(100, 6), kNoTraffic);
  EXPECT_EQ(above.verdict, Verdict::kFail);
  EXPECT_EQ(above.name, "error_rate");  // the metric's name when the check has none
  EXPECT_DOUBLE_EQ(above.threshold, 0.05);
  EXPECT_EQ(above.samples, 100u);
  EXPECT_EQ(above.baseline_samples, 0u);
  EXPECT_TRUE(std::isnan(above.baseline));
  EXPECT_EQ(above.message, "error rate 6.0% > 5.0% (100 requests)");
}

TEST(JudgeCheck, BelowMinSamplesIsInconclusiveNeverPass) {
  const auto check = Check(AnalysisMetric::kErrorRate, 0.05, 20);
  const CheckResult few = JudgeCheck(check, Counts(19, 0), kNoTraffic);
  EXPECT_EQ(few.verdict, Verdict::kInconclusive);
  EXPECT_EQ(few.message, "inconclusive: 19 requests < min_samples 20");
  EXPECT_EQ(JudgeCheck(check, Counts(20, 0), kNoTraffic).verdict, Verdict::kPass);
  EXPECT_EQ(JudgeCheck(check, Counts(19, 19), kNoTraffic).verdict, Verdict::kInconclusive);
}

TEST(JudgeCheck, EmptyWindowsAreInconclusiveForEveryMetric) {
  for (AnalysisMetric metric : kAllMetrics) {
    for (std::uint64_t min_samples : {0, 20}) {
      const CheckResult r = JudgeCheck(Check(metric, 0.05, min_samples), kNoTraffic, kNoTraffic);
      EXPECT_EQ(r.verdict, Verdict::kInconclusive)
          << spec::AnalysisMetricName(metric) << " " << r.message;
    }
  }
}

TEST(JudgeCheck, NotMeasurableIsInconclusive) {
  metrics::WindowCounts no_latencies = Counts(100, 0);
  no_latencies.latency = {};  // requests counted but no histogram: quantiles are NaN
  const CheckResult p95 = JudgeCheck(Check(AnalysisMetric::kLatencyP95, 1.0), no_latencies, {});
  EXPECT_EQ(p95.verdict, Verdict::kInconclusive);
  EXPECT_TRUE(std::isnan(p95.value));
  EXPECT_EQ(p95.message, "inconclusive: latency_p95 not measurable");

  const CheckResult nan_max =
      JudgeCheck(Check(AnalysisMetric::kErrorRate, std::nan("")), Counts(100, 50), kNoTraffic);
  EXPECT_EQ(nan_max.verdict, Verdict::kInconclusive);
}

TEST(JudgeCheck, LatencyQuantilesFailOnlyAboveMax) {
  const auto canary = Counts(100, 0, milliseconds(250));
  const double p95 = canary.LatencyQuantile(0.95);
  const double p99 = canary.LatencyQuantile(0.99);
  EXPECT_EQ(JudgeCheck(Check(AnalysisMetric::kLatencyP95, p95), canary, {}).verdict,
            Verdict::kPass);
  const CheckResult above =
      JudgeCheck(Check(AnalysisMetric::kLatencyP95, std::nextafter(p95, 0.0)), canary, {});
  EXPECT_EQ(above.verdict, Verdict::kFail);
  EXPECT_DOUBLE_EQ(above.value, p95);
  EXPECT_EQ(JudgeCheck(Check(AnalysisMetric::kLatencyP99, p99), canary, {}).verdict,
            Verdict::kPass);
  EXPECT_EQ(
      JudgeCheck(Check(AnalysisMetric::kLatencyP99, std::nextafter(p99, 0.0)), canary, {}).verdict,
      Verdict::kFail);
  EXPECT_EQ(JudgeCheck(Check(AnalysisMetric::kLatencyP95, 0.2), canary, {}).message,
            "latency p95 305.1ms > 200.0ms (100 requests)");
}

TEST(JudgeCheck, ErrorRateVsBaselineComparesTheDifference) {
  const auto canary = Counts(100, 6), baseline = Counts(200, 2);
  const double difference = 0.06 - 0.01;
  const auto check = Check(AnalysisMetric::kErrorRateVsBaseline, difference);
  const CheckResult at_max = JudgeCheck(check, canary, baseline);
  EXPECT_EQ(at_max.verdict, Verdict::kPass) << at_max.message;
  EXPECT_DOUBLE_EQ(at_max.baseline, 0.01);
  EXPECT_EQ(at_max.baseline_samples, 200u);

  const CheckResult above =
      JudgeCheck(Check(AnalysisMetric::kErrorRateVsBaseline, std::nextafter(difference, 0.0)),
                 canary, baseline);
  EXPECT_EQ(above.verdict, Verdict::kFail);
  EXPECT_EQ(above.message, "error rate 6.0% vs baseline 1.0%: +5.0% > 5.0% (100 / 200 requests)");

  const CheckResult thin_baseline = JudgeCheck(check, canary, Counts(10, 0));
  EXPECT_EQ(thin_baseline.verdict, Verdict::kInconclusive);
  EXPECT_EQ(thin_baseline.message, "inconclusive: baseline 10 requests < min_samples 20");
}

TEST(JudgeCheck, LatencyP95VsBaselineComparesTheRatio) {
  const auto canary = Counts(100, 0, milliseconds(30)), baseline = Counts(100, 0);
  const double ratio = canary.LatencyQuantile(0.95) / baseline.LatencyQuantile(0.95);
  EXPECT_GT(ratio, 2.0);
  EXPECT_EQ(
      JudgeCheck(Check(AnalysisMetric::kLatencyP95VsBaseline, ratio), canary, baseline).verdict,
      Verdict::kPass);
  const CheckResult above =
      JudgeCheck(Check(AnalysisMetric::kLatencyP95VsBaseline, 1.5), canary, baseline);
  EXPECT_EQ(above.verdict, Verdict::kFail);
  EXPECT_DOUBLE_EQ(above.value, ratio);
  EXPECT_DOUBLE_EQ(above.baseline, baseline.LatencyQuantile(0.95));
  EXPECT_EQ(
      JudgeCheck(Check(AnalysisMetric::kLatencyP95VsBaseline, 1.5), canary, kNoTraffic).verdict,
      Verdict::kInconclusive);
}

spec::AnalysisCheck MannWhitneyCheck(double min_effect, std::uint64_t min_samples = 20) {
  spec::AnalysisCheck check = Check(AnalysisMetric::kMannWhitney, 0, min_samples);
  check.confidence = 0.95;
  check.min_effect = min_effect;
  return check;
}

TEST(JudgeCheck, MannWhitneyFailsOnSignificantAndLargeShift) {
  const auto canary = Counts(100, 0, milliseconds(30)), baseline = Counts(100, 0);
  const double shift = canary.LatencyQuantile(0.5) - baseline.LatencyQuantile(0.5);
  EXPECT_GT(shift, 0.015);

  const CheckResult at_effect = JudgeCheck(MannWhitneyCheck(shift), canary, baseline);
  EXPECT_EQ(at_effect.verdict, Verdict::kFail) << at_effect.message;
  EXPECT_LT(at_effect.value, 1e-6);  // the p-value
  EXPECT_NEAR(at_effect.threshold, 0.05, 1e-12);
  EXPECT_DOUBLE_EQ(at_effect.baseline, baseline.LatencyQuantile(0.5));

  const CheckResult small =
      JudgeCheck(MannWhitneyCheck(std::nextafter(shift, 1.0)), canary, baseline);
  EXPECT_EQ(small.verdict, Verdict::kPass);
  EXPECT_NE(small.message.find("min_effect"), std::string::npos) << small.message;
}

TEST(JudgeCheck, MannWhitneyPassesWhenNotSignificant) {
  const auto same = Counts(100, 0, milliseconds(30));
  const CheckResult r = JudgeCheck(MannWhitneyCheck(0.0), same, same);
  EXPECT_EQ(r.verdict, Verdict::kPass);
  EXPECT_EQ(r.value, 1.0);
  EXPECT_EQ(r.message,
            "latency not above baseline: p=1 >= 0.05, median +0.0ms (100 / 100 requests)");
  // Faster than the baseline is not a failure, however large the difference.
  EXPECT_EQ(JudgeCheck(MannWhitneyCheck(0.0), Counts(100, 0), same).verdict, Verdict::kPass);
}

TEST(JudgeCheck, MannWhitneyInconclusiveCases) {
  const auto slow = Counts(100, 0, milliseconds(30)), fast = Counts(100, 0);
  EXPECT_EQ(JudgeCheck(MannWhitneyCheck(0.01), Counts(19, 0, milliseconds(30)), fast).verdict,
            Verdict::kInconclusive);
  EXPECT_EQ(JudgeCheck(MannWhitneyCheck(0.01), slow, Counts(19, 0)).verdict,
            Verdict::kInconclusive);
  auto nan_confidence = MannWhitneyCheck(0.01);
  nan_confidence.confidence = std::nan("");
  EXPECT_EQ(JudgeCheck(nan_confidence, slow, fast).verdict, Verdict::kInconclusive);
  auto nan_effect = MannWhitneyCheck(std::nan(""));
  EXPECT_EQ(JudgeCheck(nan_effect, slow, fast).verdict, Verdict::kInconclusive);
}

TEST(DefaultChecks, ErrorRateAndP95) {
  const auto checks = spec::DefaultAnalysisChecks();
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].name, "error_rate");
  EXPECT_EQ(checks[0].metric, AnalysisMetric::kErrorRate);
  EXPECT_EQ(checks[0].max, 0.05);
  EXPECT_EQ(checks[0].min_samples, 20u);
  EXPECT_EQ(checks[1].name, "latency_p95");
  EXPECT_EQ(checks[1].metric, AnalysisMetric::kLatencyP95);
  EXPECT_EQ(checks[1].max, 1.0);
  EXPECT_EQ(checks[1].min_samples, 20u);
}

TEST(Evaluate, UsesTheDefaultChecksWhenNoneAreListed) {
  const Evaluation e = Evaluate(spec::AnalysisConfig{}, Counts(100, 1), kNoTraffic);
  ASSERT_EQ(e.checks.size(), 2u);
  EXPECT_EQ(e.checks[0].name, "error_rate");
  EXPECT_EQ(e.checks[1].name, "latency_p95");
  EXPECT_EQ(e.verdict, Verdict::kPass);
  EXPECT_EQ(e.summary, "pass: error_rate, latency_p95");
}

TEST(Evaluate, FailBeatsInconclusiveBeatsPass) {
  spec::AnalysisConfig config;
  auto errors = Check(AnalysisMetric::kErrorRate, 0.05);
  errors.name = "errors";
  auto p95 = Check(AnalysisMetric::kLatencyP95, 1.0);
  auto vs_baseline = Check(AnalysisMetric::kErrorRateVsBaseline, 0.01);  // no baseline traffic
  config.checks = {errors, p95, vs_baseline};

  const Evaluation inconclusive = Evaluate(config, Counts(100, 1), kNoTraffic);
  EXPECT_EQ(inconclusive.verdict, Verdict::kInconclusive);
  EXPECT_EQ(inconclusive.summary,
            "inconclusive: error_rate_vs_baseline: baseline 0 requests < min_samples 20");

  const Evaluation failed = Evaluate(config, Counts(100, 10), kNoTraffic);
  EXPECT_EQ(failed.verdict, Verdict::kFail);
  EXPECT_EQ(failed.summary, "fail: errors: error rate 10.0% > 5.0% (100 requests)");
  ASSERT_EQ(failed.checks.size(), 3u);
  EXPECT_EQ(failed.checks[1].verdict, Verdict::kPass);
  EXPECT_EQ(failed.checks[2].verdict, Verdict::kInconclusive);

  EXPECT_EQ(Evaluate(config, Counts(100, 1), Counts(100, 1)).verdict, Verdict::kPass);
}

TEST(Names, SpellVerdictsAndMetrics) {
  EXPECT_STREQ(VerdictName(Verdict::kPass), "pass");
  EXPECT_STREQ(VerdictName(Verdict::kFail), "fail");
  EXPECT_STREQ(VerdictName(Verdict::kInconclusive), "inconclusive");
  EXPECT_STREQ(spec::AnalysisMetricName(AnalysisMetric::kLatencyP95VsBaseline),
               "latency_p95_vs_baseline");
  EXPECT_STREQ(spec::AnalysisMetricName(AnalysisMetric::kMannWhitney), "mann_whitney");
}

}  // namespace
}  // namespace slipway::analysis
