// Latency buckets, quantiles and error rates of WindowCounts.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "metrics/release_window.h"

namespace slipway::metrics {
namespace {

using std::chrono::microseconds;

double Seconds(microseconds us) { return static_cast<double>(us.count()) * 1e-6; }

void Add(WindowCounts& counts, microseconds latency, int n = 1) {
  counts.requests += n;
  counts.latency[LatencyBucketFor(latency)] += n;
}

TEST(LatencyBuckets, BoundsGrowGeometricallyFrom100us) {
  EXPECT_EQ(LatencyBucketLower(0), 0.0);
  EXPECT_DOUBLE_EQ(LatencyBucketUpper(0), 100e-6);
  for (int i = 1; i < kLatencyBuckets - 1; ++i) {
    EXPECT_EQ(LatencyBucketLower(i), LatencyBucketUpper(i - 1)) << i;
    EXPECT_NEAR(LatencyBucketUpper(i) / LatencyBucketUpper(i - 1), kLatencyBucketRatio, 1e-12);
  }
  const double last_finite = LatencyBucketUpper(kLatencyBuckets - 2);
  EXPECT_GT(last_finite, 60.0);
  EXPECT_LT(last_finite, 120.0);
  EXPECT_TRUE(std::isinf(LatencyBucketUpper(kLatencyBuckets - 1)));
}

TEST(LatencyBuckets, BucketForHoldsTheLatency) {
  std::vector<microseconds> latencies = {microseconds(0), microseconds(1), microseconds(99)};
  for (int i = 0; i < kLatencyBuckets - 1; ++i) {  // each bound and its neighbours
    const auto bound = static_cast<std::int64_t>(std::llround(LatencyBucketUpper(i) * 1e6));
    for (std::int64_t d : {-1, 0, 1}) latencies.push_back(microseconds(bound + d));
  }
  for (auto latency : latencies) {
    const int i = LatencyBucketFor(latency);
    ASSERT_GE(i, 0);
    ASSERT_LT(i, kLatencyBuckets);
    EXPECT_LE(LatencyBucketLower(i), Seconds(latency)) << latency.count() << "us";
    EXPECT_LT(Seconds(latency), LatencyBucketUpper(i)) << latency.count() << "us";
  }
}

TEST(LatencyBuckets, BucketForClamps) {
  EXPECT_EQ(LatencyBucketFor(microseconds(-5)), 0);
  EXPECT_EQ(LatencyBucketFor(std::chrono::hours(24)), kLatencyBuckets - 1);
  EXPECT_EQ(LatencyBucketFor(microseconds::max()), kLatencyBuckets - 1);
}

TEST(WindowCounts, EmptyIsNaN) {
  WindowCounts empty;
  EXPECT_TRUE(std::isnan(empty.LatencyQuantile(0.5)));
  EXPECT_TRUE(std::isnan(empty.ErrorRate()));
  WindowCounts some;
  Add(some, microseconds(5000));
  EXPECT_TRUE(std::isnan(some.LatencyQuantile(std::nan(""))));
}

TEST(WindowCounts, ErrorRateIsErrorsOverRequests) {
  WindowCounts counts;
  counts.requests = 200;
  counts.errors = 3;
  EXPECT_DOUBLE_EQ(counts.ErrorRate(), 0.015);
}

TEST(WindowCounts, QuantileInterpolatesWithinTheBucket) {
  WindowCounts counts;
  const int bucket = LatencyBucketFor(microseconds(10'000));
  counts.latency[bucket] = 100;
  const double lower = LatencyBucketLower(bucket), upper = LatencyBucketUpper(bucket);
  EXPECT_DOUBLE_EQ(counts.LatencyQuantile(0.5), lower + 0.5 * (upper - lower));
  EXPECT_DOUBLE_EQ(counts.LatencyQuantile(1.0), upper);
  EXPECT_DOUBLE_EQ(counts.LatencyQuantile(0.0), lower);
}

TEST(WindowCounts, OpenLastBucketGivesItsLowerBound) {
  WindowCounts counts;
  Add(counts, std::chrono::seconds(500), 10);
  EXPECT_EQ(counts.LatencyQuantile(0.99), LatencyBucketLower(kLatencyBuckets - 1));
}

TEST(WindowCounts, QuantilesOfUniform10To20msAreWithinOneBucket) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> uniform(10'000, 20'000);
  WindowCounts counts;
  for (int i = 0; i < 1000; ++i) Add(counts, microseconds(uniform(rng)));
  for (auto [q, expected] : {std::pair{0.5, 0.015}, std::pair{0.95, 0.0195}}) {
    const int bucket = LatencyBucketFor(microseconds(std::lround(expected * 1e6)));
    const double width = LatencyBucketUpper(bucket) - LatencyBucketLower(bucket);
    EXPECT_NEAR(counts.LatencyQuantile(q), expected, width) << "q=" << q;
  }
}

}  // namespace
}  // namespace slipway::metrics
