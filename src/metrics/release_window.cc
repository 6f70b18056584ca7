// ReleaseWindow: each shard is a ring of kSlots one-second slots. A slot is tagged with the
// second it holds; the shard's one writer recycles a slot when a new second reaches it. Readers
// take a slot only when its tag is the second they want before and after reading it, so a slot
// being recycled is skipped rather than mixed (a seqlock without the retry).
#include "metrics/release_window.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace slipway::metrics {
namespace {

constexpr double kFirstBound = 100e-6;  // seconds: the upper bound of bucket 0
constexpr double kRatio = 1.25;         // bucket 62 ends near 102 s; bucket 63 is open-ended
constexpr std::int64_t kNoSecond = std::numeric_limits<std::int64_t>::min();

std::int64_t SecondOf(ReleaseWindow::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Single-writer increment: a load and a store, no locked read-modify-write.
void Bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace

double LatencyBucketLower(int i) {
  if (i <= 0) return 0.0;
  return kFirstBound * std::pow(kRatio, i - 1);
}

double LatencyBucketUpper(int i) {
  if (i >= kLatencyBuckets - 1) return std::numeric_limits<double>::infinity();
  return kFirstBound * std::pow(kRatio, i);
}

int LatencyBucketFor(std::chrono::microseconds latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  if (seconds < kFirstBound) return 0;
  // Bucket i >= 1 holds [kFirstBound * r^(i-1), kFirstBound * r^i).
  int i = 1 + static_cast<int>(std::floor(std::log(seconds / kFirstBound) / std::log(kRatio)));
  // Rounding at a bound may land one off: settle it against the exact bounds.
  if (i > 1 && seconds < LatencyBucketLower(i)) --i;
  if (i < kLatencyBuckets - 1 && seconds >= LatencyBucketUpper(i)) ++i;
  return std::clamp(i, 0, kLatencyBuckets - 1);
}

double WindowCounts::LatencyQuantile(double q) const {
  std::uint64_t total = 0;
  for (std::uint64_t n : latency) total += n;
  if (total == 0 || !(q > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  const double rank = std::min(q, 1.0) * static_cast<double>(total);
  double below = 0.0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    const double n = static_cast<double>(latency[i]);
    if (n == 0.0 || below + n < rank) {
      below += n;
      continue;
    }
    const double lower = LatencyBucketLower(i);
    const double upper = LatencyBucketUpper(i);
    if (std::isinf(upper)) return lower;
    return lower + (upper - lower) * (rank - below) / n;
  }
  return LatencyBucketLower(kLatencyBuckets - 1);
}

double WindowCounts::ErrorRate() const {
  if (requests == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(errors) / static_cast<double>(requests);
}

struct alignas(64) ReleaseWindow::Shard {
  struct Slot {
    std::atomic<std::int64_t> second{kNoSecond};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> errors{0};
    std::array<std::atomic<std::uint64_t>, kLatencyBuckets> latency{};
  };
  std::atomic<std::uint64_t> total_requests{0};
  std::atomic<std::uint64_t> total_errors{0};
  std::array<Slot, kSlots> slots;
};

ReleaseWindow::ReleaseWindow(int shards) {
  shards_.reserve(static_cast<std::size_t>(std::max(shards, 1)));
  for (int i = 0; i < std::max(shards, 1); ++i) shards_.push_back(std::make_unique<Shard>());
}

ReleaseWindow::~ReleaseWindow() = default;

void ReleaseWindow::Record(int shard, int status, std::chrono::microseconds latency,
                           Clock::time_point now) {
  Shard& s = *shards_[static_cast<std::size_t>(shard)];
  const std::int64_t second = SecondOf(now);
  Shard::Slot& slot = s.slots[static_cast<std::size_t>(second % kSlots)];
  if (slot.second.load(std::memory_order_relaxed) != second) {
    // Recycle: readers see kNoSecond while the counts are zeroed, then the new tag (release).
    slot.second.store(kNoSecond, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    slot.requests.store(0, std::memory_order_relaxed);
    slot.errors.store(0, std::memory_order_relaxed);
    for (auto& bucket : slot.latency) bucket.store(0, std::memory_order_relaxed);
    slot.second.store(second, std::memory_order_release);
  }
  const bool error = status >= 500;
  Bump(slot.requests);
  Bump(slot.latency[static_cast<std::size_t>(LatencyBucketFor(latency))]);
  Bump(s.total_requests);
  if (error) {
    Bump(slot.errors);
    Bump(s.total_errors);
  }
}

WindowCounts ReleaseWindow::Sum(Clock::time_point now, std::chrono::seconds window) const {
  WindowCounts sum;
  const std::int64_t seconds = std::min<std::int64_t>(window.count(), kSlots);
  const std::int64_t last = SecondOf(now);
  for (std::int64_t second = last - seconds + 1; second <= last; ++second) {
    if (second < 0) continue;
    for (const auto& shard : shards_) {
      const Shard::Slot& slot = shard->slots[static_cast<std::size_t>(second % kSlots)];
      if (slot.second.load(std::memory_order_acquire) != second) continue;
      WindowCounts one;
      one.requests = slot.requests.load(std::memory_order_relaxed);
      one.errors = slot.errors.load(std::memory_order_relaxed);
      for (int i = 0; i < kLatencyBuckets; ++i) {
        one.latency[i] = slot.latency[i].load(std::memory_order_relaxed);
      }
      std::atomic_thread_fence(std::memory_order_acquire);
      if (slot.second.load(std::memory_order_relaxed) != second) continue;  // recycled meanwhile
      sum.requests += one.requests;
      sum.errors += one.errors;
      for (int i = 0; i < kLatencyBuckets; ++i) sum.latency[i] += one.latency[i];
    }
  }
  return sum;
}

std::uint64_t ReleaseWindow::total_requests() const {
  std::uint64_t n = 0;
  for (const auto& shard : shards_) n += shard->total_requests.load(std::memory_order_relaxed);
  return n;
}

std::uint64_t ReleaseWindow::total_errors() const {
  std::uint64_t n = 0;
  for (const auto& shard : shards_) n += shard->total_errors.load(std::memory_order_relaxed);
  return n;
}

}  // namespace slipway::metrics
