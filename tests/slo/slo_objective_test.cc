// The SLO arithmetic: SLI, error budget left and burn rate from good and total events, what
// makes a minute good, and no data for an empty window.
#include "slo/slo_objective.h"

#include <gtest/gtest.h>

#include <vector>

namespace slipway::slo {
namespace {

using namespace std::chrono_literals;

Objective ErrorRate(double allowed) {
  return Objective{.kind = SloKind::kErrorRate, .target = 1 - allowed};
}

Objective Availability(double target, double minute_error_rate = 0.05) {
  return Objective{
      .kind = SloKind::kAvailability, .target = target, .minute_error_rate = minute_error_rate};
}

MinuteCounts Minute(std::int64_t minute, std::uint64_t requests, std::uint64_t errors,
                    std::uint32_t sampled = 60, std::uint32_t down = 0, std::uint64_t slow = 0) {
  return MinuteCounts{.minute = minute,
                      .requests = requests,
                      .errors = errors,
                      .slow = slow,
                      .sampled_seconds = sampled,
                      .down_seconds = down};
}

TEST(SloObjective, SevenErrorsInAThousandAgainstNinetyNinePercent) {
  const Objective objective = ErrorRate(0.01);
  const std::vector<MinuteCounts> minutes = {Minute(100, 600, 3), Minute(101, 400, 4)};
  const Judgement j = Judge(objective, TallyMinutes(objective, minutes));
  EXPECT_EQ(j.tally.total, 1000u);
  EXPECT_EQ(j.tally.good, 993u);
  EXPECT_EQ(j.tally.bad(), 7u);
  ASSERT_TRUE(j.sli && j.budget_remaining && j.burn_rate);
  EXPECT_DOUBLE_EQ(*j.sli, 0.993);
  EXPECT_NEAR(*j.budget_remaining, 0.30, 1e-12);
  EXPECT_NEAR(*j.burn_rate, 0.70, 1e-12);
}

TEST(SloObjective, AnOverspentBudgetGoesNegative) {
  const Objective objective = ErrorRate(0.01);
  const Judgement j = Judge(objective, Tally{.good = 970, .total = 1000});
  EXPECT_NEAR(*j.burn_rate, 3.0, 1e-12);
  EXPECT_NEAR(*j.budget_remaining, -2.0, 1e-12);
}

TEST(SloObjective, AnEmptyWindowHasNoDataNotAHundredPercent) {
  for (const Objective& objective : {ErrorRate(0.01), Availability(0.999)}) {
    const Judgement j = Judge(objective, TallyMinutes(objective, {}));
    EXPECT_EQ(j.tally.total, 0u);
    EXPECT_FALSE(j.sli.has_value());
    EXPECT_FALSE(j.budget_remaining.has_value());
    EXPECT_FALSE(j.burn_rate.has_value());
  }
  // Minutes nobody sampled count for no availability; their requests still count for errors.
  const std::vector<MinuteCounts> unsampled = {Minute(7, 10, 0, /*sampled=*/0)};
  EXPECT_EQ(TallyMinutes(Availability(0.99), unsampled).total, 0u);
  EXPECT_EQ(TallyMinutes(ErrorRate(0.01), unsampled).total, 10u);
}

TEST(SloObjective, AvailabilityCountsMinutesNotRequests) {
  const Objective objective = Availability(0.99, /*minute_error_rate=*/0.05);
  const std::vector<MinuteCounts> minutes = {
      Minute(1, 1000, 50),      // exactly 5%: good
      Minute(2, 1000, 51),      // above 5%: bad
      Minute(3, 0, 0),          // no requests, served throughout: good
      Minute(4, 10, 0, 60, 1),  // one second without a ready replica: bad
      Minute(5, 5, 0, 20, 0),   // sampled only 20 s (the daemon started): good
  };
  EXPECT_TRUE(MinuteGood(objective, minutes[0]));
  EXPECT_FALSE(MinuteGood(objective, minutes[1]));
  const Judgement j = Judge(objective, TallyMinutes(objective, minutes));
  EXPECT_EQ(j.tally.total, 5u);
  EXPECT_EQ(j.tally.good, 3u);
  EXPECT_DOUBLE_EQ(*j.sli, 0.6);
  EXPECT_NEAR(*j.burn_rate, 40.0, 1e-9);  // 40% bad against a 1% budget
  // The same minutes by requests: 101 errors in 2015 requests.
  const Judgement by_requests = Judge(ErrorRate(0.01), TallyMinutes(ErrorRate(0.01), minutes));
  EXPECT_EQ(by_requests.tally.total, 2015u);
  EXPECT_EQ(by_requests.tally.bad(), 101u);
}

TEST(SloObjective, LatencyCountsSlowRequests) {
  spec::SloSpec spec;
  spec.latency = spec::LatencyObjective{.percentile = 95, .target = 0.95, .threshold = 300ms};
  const std::vector<Objective> objectives = ObjectivesOf(spec);
  ASSERT_EQ(objectives.size(), 1u);
  const Objective& latency = objectives[0];
  EXPECT_EQ(latency.kind, SloKind::kLatency);
  const std::vector<SecondCounts> seconds = {
      {.second = 1, .requests = 100, .errors = 9, .slow = 4},
      {.second = 2, .requests = 100, .errors = 0, .slow = 6}};
  const Judgement j = Judge(latency, TallySeconds(latency, seconds));
  EXPECT_EQ(j.tally.total, 200u);
  EXPECT_EQ(j.tally.bad(), 10u);  // slow ones; errors are the error_rate objective's
  EXPECT_NEAR(*j.burn_rate, 1.0, 1e-12);
  EXPECT_NEAR(*j.budget_remaining, 0.0, 1e-12);
  EXPECT_EQ(latency.Describe(), "95% of requests within 300ms (p95)");
}

TEST(SloObjective, ObjectivesComeInAFixedOrder) {
  spec::SloSpec spec;
  spec.error_rate = 0.01;
  spec.availability = spec::AvailabilityObjective{.target = 0.999};
  const std::vector<Objective> objectives = ObjectivesOf(spec);
  ASSERT_EQ(objectives.size(), 2u);
  EXPECT_STREQ(SloKindName(objectives[0].kind), "availability");
  EXPECT_STREQ(SloKindName(objectives[1].kind), "error_rate");
  EXPECT_DOUBLE_EQ(objectives[1].target, 0.99);
  EXPECT_NEAR(objectives[0].budget(), 0.001, 1e-15);
}

}  // namespace
}  // namespace slipway::slo
