// ReleaseWindow: per-second slots summed over windows, ring recycling, concurrent recording.
#include "metrics/release_window.h"

#include <gtest/gtest.h>

#include <thread>

namespace slipway::metrics {
namespace {

using Clock = ReleaseWindow::Clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

// An arbitrary steady-clock instant on a whole second.
const Clock::time_point kStart = Clock::time_point(std::chrono::hours(24 * 365));

std::uint64_t HistogramTotal(const WindowCounts& counts) {
  std::uint64_t total = 0;
  for (auto n : counts.latency) total += n;
  return total;
}

TEST(ReleaseWindow, SumsAcrossSlotsAndShards) {
  ReleaseWindow window(3);
  for (int second = 0; second < 10; ++second) {
    for (int shard = 0; shard < 3; ++shard) {
      window.Record(shard, 200, milliseconds(5), kStart + seconds(second) + milliseconds(300));
    }
  }
  window.Record(1, 500, milliseconds(50), kStart + seconds(9));
  window.Record(2, 503, milliseconds(50), kStart + seconds(4));
  window.Record(0, 499, milliseconds(50), kStart + seconds(4));  // not an error

  const WindowCounts sum = window.Sum(kStart + seconds(9), seconds(10));
  EXPECT_EQ(sum.requests, 33u);
  EXPECT_EQ(sum.errors, 2u);
  EXPECT_EQ(HistogramTotal(sum), 33u);
  EXPECT_EQ(sum.latency[LatencyBucketFor(milliseconds(5))], 30u);
  EXPECT_EQ(sum.latency[LatencyBucketFor(milliseconds(50))], 3u);
  EXPECT_EQ(window.total_requests(), 33u);
  EXPECT_EQ(window.total_errors(), 2u);
}

TEST(ReleaseWindow, OldSlotsFallOutOfTheWindow) {
  ReleaseWindow window(1);
  for (int second = 0; second < 10; ++second) {
    window.Record(0, second < 5 ? 500 : 200, milliseconds(1), kStart + seconds(second));
  }
  const WindowCounts last5 = window.Sum(kStart + seconds(9), seconds(5));
  EXPECT_EQ(last5.requests, 5u);
  EXPECT_EQ(last5.errors, 0u);
  EXPECT_EQ(window.Sum(kStart + seconds(100), seconds(30)).requests, 0u);
  EXPECT_EQ(window.Sum(kStart + seconds(9), seconds(0)).requests, 0u);
  // Seconds after `now` are not in its window.
  EXPECT_EQ(window.Sum(kStart + seconds(4), seconds(5)).requests, 5u);
}

TEST(ReleaseWindow, CurrentPartialSecondIsInTheWindow) {
  ReleaseWindow window(1);
  window.Record(0, 200, milliseconds(1), kStart + milliseconds(9'900));
  EXPECT_EQ(window.Sum(kStart + milliseconds(9'100), seconds(1)).requests, 1u);
  EXPECT_EQ(window.Sum(kStart + milliseconds(10'000), seconds(1)).requests, 0u);
}

TEST(ReleaseWindow, StaleSlotIsResetWhenTheRingWraps) {
  ReleaseWindow window(1);
  for (int i = 0; i < 5; ++i) window.Record(0, 500, milliseconds(1), kStart);
  const auto wrapped = kStart + seconds(ReleaseWindow::kSlots);  // the same slot as kStart
  window.Record(0, 200, milliseconds(7), wrapped);

  const WindowCounts sum = window.Sum(wrapped, seconds(ReleaseWindow::kSlots));
  EXPECT_EQ(sum.requests, 1u);
  EXPECT_EQ(sum.errors, 0u);
  EXPECT_EQ(HistogramTotal(sum), 1u);
  EXPECT_EQ(sum.latency[LatencyBucketFor(milliseconds(7))], 1u);
  EXPECT_EQ(window.total_requests(), 6u);
  EXPECT_EQ(window.total_errors(), 5u);
}

TEST(ReleaseWindow, WindowIsClampedToTheRing) {
  ReleaseWindow window(1);
  window.Record(0, 200, milliseconds(1), kStart);
  window.Record(0, 200, milliseconds(1), kStart + seconds(ReleaseWindow::kSlots - 1));
  EXPECT_EQ(window.Sum(kStart + seconds(ReleaseWindow::kSlots - 1), std::chrono::hours(1)).requests,
            2u);
  EXPECT_EQ(window.Sum(kStart + seconds(ReleaseWindow::kSlots), std::chrono::hours(1)).requests,
            1u);
}

TEST(ReleaseWindow, SampleOlderThanTheRingCountsOnlyInTotals) {
  ReleaseWindow window(1);
  const auto late = kStart + seconds(ReleaseWindow::kSlots);
  window.Record(0, 200, milliseconds(1), late);
  window.Record(0, 500, milliseconds(1), kStart);  // its slot now holds a newer second
  const WindowCounts sum = window.Sum(late, seconds(ReleaseWindow::kSlots));
  EXPECT_EQ(sum.requests, 1u);
  EXPECT_EQ(sum.errors, 0u);
  EXPECT_EQ(window.total_requests(), 2u);
  EXPECT_EQ(window.total_errors(), 1u);
}

// Two writers run through two laps of the ring while a reader sums; sums stay within what was
// recorded, and once the writers are done totals and the last window are exact.
TEST(ReleaseWindow, ConcurrentWritersAndReader) {
  constexpr int kShards = 2;
  constexpr int kPerSecond = 100;
  constexpr int kSeconds = 2 * ReleaseWindow::kSlots;
  constexpr std::uint64_t kMaxInWindow =
      std::uint64_t{kShards} * kPerSecond * ReleaseWindow::kSlots;
  ReleaseWindow window(kShards);
  std::atomic<int> writers_done{0};

  std::vector<std::thread> writers;
  for (int shard = 0; shard < kShards; ++shard) {
    writers.emplace_back([&window, &writers_done, shard] {
      for (int second = 0; second < kSeconds; ++second) {
        for (int i = 0; i < kPerSecond; ++i) {
          window.Record(shard, i % 10 == 0 ? 502 : 200, microseconds(1000 + 37 * i),
                        kStart + seconds(second));
        }
      }
      writers_done.fetch_add(1);
    });
  }
  int reads = 0;
  while (writers_done.load() < kShards || reads < 10) {
    const auto now = kStart + seconds(reads % kSeconds);
    const WindowCounts sum = window.Sum(now, seconds(ReleaseWindow::kSlots));
    EXPECT_LE(sum.requests, kMaxInWindow);
    EXPECT_LE(sum.errors, kMaxInWindow / 10);
    EXPECT_LE(HistogramTotal(sum), kMaxInWindow);
    ++reads;
  }
  for (auto& writer : writers) writer.join();

  constexpr std::uint64_t kTotal = std::uint64_t{kShards} * kPerSecond * kSeconds;
  EXPECT_EQ(window.total_requests(), kTotal);
  EXPECT_EQ(window.total_errors(), kTotal / 10);
  const WindowCounts last = window.Sum(kStart + seconds(kSeconds - 1), seconds(30));
  EXPECT_EQ(last.requests, std::uint64_t{kShards} * kPerSecond * 30);
  EXPECT_EQ(last.errors, std::uint64_t{kShards} * kPerSecond * 3);
  EXPECT_EQ(HistogramTotal(last), last.requests);
}

}  // namespace
}  // namespace slipway::metrics
