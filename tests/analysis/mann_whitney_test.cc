// Mann-Whitney U against textbook / scipy values, and the histogram form against the raw one.
#include "analysis/mann_whitney.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace slipway::analysis {
namespace {

TEST(MannWhitney, MatchesScipyDocumentationExample) {
  // scipy.stats.mannwhitneyu(males, females, method="asymptotic") gives U=17.0 and the
  // two-sided p=0.11134688653314041; with no ties the one-sided p is half of it.
  const std::vector<double> males = {19, 22, 16, 29, 24};
  const std::vector<double> females = {20, 11, 17, 12};
  const MannWhitneyResult r = MannWhitneyGreater(males, females);
  EXPECT_EQ(r.n1, 5u);
  EXPECT_EQ(r.n2, 4u);
  EXPECT_DOUBLE_EQ(r.u, 17.0);
  EXPECT_NEAR(r.p_value, 0.11134688653314041 / 2, 1e-12);
}

TEST(MannWhitney, HandComputedNoTies) {
  // Every canary sample beats every baseline sample: U = 2 * 2 = 4, mean 2,
  // sigma = sqrt(2 * 2 * 5 / 12), z = (4 - 2 - 0.5) / sigma.
  const std::vector<double> canary = {3, 4};
  const std::vector<double> baseline = {1, 2};
  const MannWhitneyResult r = MannWhitneyGreater(canary, baseline);
  EXPECT_DOUBLE_EQ(r.u, 4.0);
  EXPECT_NEAR(r.z, 1.5 / std::sqrt(20.0 / 12), 1e-12);
  EXPECT_NEAR(r.p_value, 0.12263905840338643, 1e-12);
}

TEST(MannWhitney, TiesUseMidRanksAndCorrectTheVariance) {
  // Counted by hand: 2 -> 1 + 2 * 0.5, 3 -> 3 + 0.5 (twice), 4 -> 4 + 0.5, 5 -> 5 (three times).
  // z and p from the rank-sum form with the tie-corrected variance (Python, math.erfc).
  const std::vector<double> canary = {2, 3, 3, 4, 5, 5, 5};
  const std::vector<double> baseline = {1, 2, 2, 3, 4};
  const MannWhitneyResult r = MannWhitneyGreater(canary, baseline);
  EXPECT_DOUBLE_EQ(r.u, 28.5);
  EXPECT_NEAR(r.z, 1.745323421648219, 1e-12);
  EXPECT_NEAR(r.p_value, 0.040464293592242684, 1e-12);

  const MannWhitneyResult reversed = MannWhitneyGreater(baseline, canary);
  EXPECT_DOUBLE_EQ(reversed.u, 35 - 28.5);  // U1 + U2 = n1 n2
  EXPECT_NEAR(reversed.z, -1.9115446999004302, 1e-12);
  EXPECT_NEAR(reversed.p_value, 0.972032690917725, 1e-12);
}

TEST(MannWhitney, UCountsPairs) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> value(0, 20);  // small range: many ties
  std::vector<double> canary(57), baseline(43);
  for (auto& x : canary) x = value(rng);
  for (auto& y : baseline) y = value(rng);
  double pairs = 0;
  for (double x : canary) {
    for (double y : baseline) pairs += x > y ? 1 : x == y ? 0.5 : 0;
  }
  EXPECT_DOUBLE_EQ(MannWhitneyGreater(canary, baseline).u, pairs);
}

TEST(MannWhitney, HistogramIsRawSamplesTiedByBucket) {
  std::mt19937 rng(5);
  std::lognormal_distribution<double> latency(std::log(0.005), 0.6);
  metrics::LatencyHistogram canary_histogram{}, baseline_histogram{};
  std::vector<double> canary_buckets, baseline_buckets;
  for (int i = 0; i < 500; ++i) {
    const auto us = [&] { return std::chrono::microseconds(std::lround(latency(rng) * 1e6)); };
    const int c = metrics::LatencyBucketFor(us() + std::chrono::microseconds(500));
    const int b = metrics::LatencyBucketFor(us());
    ++canary_histogram[c];
    ++baseline_histogram[b];
    canary_buckets.push_back(c);
    baseline_buckets.push_back(b);
  }
  const MannWhitneyResult binned = MannWhitneyGreater(canary_histogram, baseline_histogram);
  const MannWhitneyResult raw = MannWhitneyGreater(canary_buckets, baseline_buckets);
  EXPECT_EQ(binned.n1, 500u);
  EXPECT_EQ(binned.n2, 500u);
  EXPECT_DOUBLE_EQ(binned.u, raw.u);
  EXPECT_NEAR(binned.z, raw.z, 1e-9);
  EXPECT_NEAR(binned.p_value, raw.p_value, 1e-12);
  EXPECT_LT(binned.p_value, 0.05);  // +0.5 ms on ~5 ms is visible in 500 samples
}

TEST(MannWhitney, EmptySideIsNaN) {
  const std::vector<double> some = {1, 2, 3};
  const std::vector<double> none;
  EXPECT_TRUE(std::isnan(MannWhitneyGreater(some, none).p_value));
  EXPECT_TRUE(std::isnan(MannWhitneyGreater(none, some).p_value));
  metrics::LatencyHistogram empty{}, full{};
  full[3] = 10;
  EXPECT_TRUE(std::isnan(MannWhitneyGreater(full, empty).p_value));
  EXPECT_TRUE(std::isnan(MannWhitneyGreater(empty, empty).p_value));
}

TEST(MannWhitney, AllTiedCannotTellApart) {
  metrics::LatencyHistogram canary{}, baseline{};
  canary[10] = 40;
  baseline[10] = 60;
  const MannWhitneyResult r = MannWhitneyGreater(canary, baseline);
  EXPECT_DOUBLE_EQ(r.u, 40 * 60 / 2.0);
  EXPECT_EQ(r.p_value, 1.0);
}

TEST(MannWhitney, NaNSamplesAreLeftOut) {
  const std::vector<double> canary = {3, std::nan(""), 4};
  const std::vector<double> baseline = {1, 2, std::nan("")};
  const MannWhitneyResult r = MannWhitneyGreater(canary, baseline);
  EXPECT_EQ(r.n1, 2u);
  EXPECT_EQ(r.n2, 2u);
  EXPECT_NEAR(r.p_value, 0.12263905840338643, 1e-12);
}

}  // namespace
}  // namespace slipway::analysis
