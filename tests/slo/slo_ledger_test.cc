// SloLedger: which seconds and minutes a window sums, short windows second by second, serving
// samples once per second, minutes restored after a restart, dirty minutes and pruning.
#include "slo/slo_ledger.h"

#include <gtest/gtest.h>

namespace slipway::slo {
namespace {

using namespace std::chrono_literals;

const Objective kErrors{.kind = SloKind::kErrorRate, .target = 0.99};
const Objective kAvailability{.kind = SloKind::kAvailability, .target = 0.99};

// 12:00:00 UTC on some day: a minute boundary.
constexpr std::int64_t kT0 = 1'700'000'040;
static_assert(kT0 % 60 == 0);

TEST(SloLedger, AWindowOfMinutesEndsWithTheCurrentOne) {
  SloLedger ledger;
  ledger.AddTraffic(kT0 - 3601, 1000, 1000, 0);  // 61 minutes ago: out of 1h
  ledger.AddTraffic(kT0 - 3541, 100, 1, 0);      // the last second of the minute 60 minutes ago
  ledger.AddTraffic(kT0 - 3540, 100, 2, 0);      // the first of the minute 59 minutes ago: in
  ledger.AddTraffic(kT0 + 30, 50, 3, 0);         // the current minute so far
  const Tally hour = ledger.Over(kErrors, 1h, kT0 + 30);
  // 1h = the current minute and the 59 before it: 12:00 back to 11:01.
  EXPECT_EQ(hour.total, 150u);
  EXPECT_EQ(hour.bad(), 5u);
  EXPECT_EQ(ledger.Over(kErrors, 24h, kT0 + 30).total, 1250u);
}

TEST(SloLedger, WindowsOfUpToTenMinutesCountSeconds) {
  SloLedger ledger;
  ledger.AddTraffic(kT0 - 10, 7, 7, 0);  // 10 s before kT0: outside a 10 s window ending at kT0
  ledger.AddTraffic(kT0 - 9, 3, 1, 0);
  ledger.AddTraffic(kT0, 5, 0, 0);
  const Tally ten = ledger.Over(kErrors, 10s, kT0);
  EXPECT_EQ(ten.total, 8u);
  EXPECT_EQ(ten.bad(), 1u);
  // The window straddles two minutes; seconds do not care.
  EXPECT_EQ(ledger.Over(kErrors, 11s, kT0).total, 15u);
  // 600 s later the ring has moved on: the old seconds are gone from short windows...
  EXPECT_EQ(ledger.Over(kErrors, 10min, kT0 + 599).total, 5u);
  EXPECT_EQ(ledger.Over(kErrors, 10min, kT0 + 600).total, 0u);
  // ...and stay in the minutes.
  EXPECT_EQ(ledger.Over(kErrors, 1h, kT0 + 610).total, 15u);
}

TEST(SloLedger, AvailabilityAlwaysCountsWholeMinutes) {
  SloLedger ledger;
  for (std::int64_t s = kT0 - 60; s < kT0 + 5; ++s) ledger.AddServingSample(s, s == kT0 - 30);
  // 10 s ending at kT0 + 4 touch only the current minute, which is good so far.
  Tally t = ledger.Over(kAvailability, 10s, kT0 + 4);
  EXPECT_EQ(t.total, 1u);
  EXPECT_EQ(t.good, 1u);
  // 2 minutes: the previous one had a second without a ready replica.
  t = ledger.Over(kAvailability, 2min, kT0 + 4);
  EXPECT_EQ(t.total, 2u);
  EXPECT_EQ(t.good, 1u);
}

TEST(SloLedger, OnlyTheFirstServingSampleOfASecondCounts) {
  SloLedger ledger;
  ledger.AddServingSample(kT0, false);
  ledger.AddServingSample(kT0, true);  // the same second again (an API read): ignored
  ledger.AddServingSample(kT0 + 1, false);
  ASSERT_EQ(ledger.minutes().size(), 1u);
  EXPECT_EQ(ledger.minutes()[0].sampled_seconds, 2u);
  EXPECT_EQ(ledger.minutes()[0].down_seconds, 0u);
}

TEST(SloLedger, RestoredMinutesAddUpWithNewCounts) {
  SloLedger ledger;
  const std::vector<MinuteCounts> stored = {
      {.minute = kT0 / 60 - 1, .requests = 40, .errors = 2, .sampled_seconds = 60},
      {.minute = kT0 / 60, .requests = 10, .errors = 1, .sampled_seconds = 20}};
  ledger.Restore(stored);
  ledger.AddTraffic(kT0 + 25, 5, 0, 0);  // the same minute, after the restart
  ledger.AddServingSample(kT0 + 25, false);
  const Tally hour = ledger.Over(kErrors, 1h, kT0 + 25);
  EXPECT_EQ(hour.total, 55u);
  EXPECT_EQ(hour.bad(), 3u);
  const std::vector<MinuteCounts> dirty = ledger.TakeDirty();
  ASSERT_EQ(dirty.size(), 1u);  // restored minutes are not written back unchanged
  EXPECT_EQ(dirty[0].requests, 15u);
  EXPECT_EQ(dirty[0].sampled_seconds, 21u);
  EXPECT_TRUE(ledger.TakeDirty().empty());
}

TEST(SloLedger, PruneForgetsOldMinutes) {
  SloLedger ledger;
  ledger.AddTraffic(kT0 - 120, 1, 0, 0);
  ledger.AddTraffic(kT0, 1, 0, 0);
  ledger.PruneBefore(kT0 / 60);
  ASSERT_EQ(ledger.minutes().size(), 1u);
  EXPECT_EQ(ledger.minutes()[0].minute, kT0 / 60);
  const std::vector<MinuteCounts> dirty = ledger.TakeDirty();
  ASSERT_EQ(dirty.size(), 1u);
  EXPECT_EQ(dirty[0].minute, kT0 / 60);
}

TEST(SloLedger, AWallClockStepBackLandsInItsOwnMinute) {
  SloLedger ledger;
  ledger.AddTraffic(kT0 + 5, 1, 0, 0);
  ledger.AddTraffic(kT0 - 65, 2, 0, 0);  // the clock went back over a minute
  ASSERT_EQ(ledger.minutes().size(), 2u);
  EXPECT_LT(ledger.minutes()[0].minute, ledger.minutes()[1].minute);
  EXPECT_EQ(ledger.Over(kErrors, 1h, kT0 + 5).total, 3u);
}

}  // namespace
}  // namespace slipway::slo
