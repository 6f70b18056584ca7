#include "metrics/release_window.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace slipway::metrics {
namespace {

using std::memory_order_acquire;
using std::memory_order_relaxed;
using std::memory_order_release;

// kUpperBounds[i] is the (exclusive) upper bound of bucket i in seconds; the last is +inf.
constexpr std::array<double, kLatencyBuckets> MakeUpperBounds() {
  std::array<double, kLatencyBuckets> bounds{};
  double bound = kFirstLatencyBound;
  for (int i = 0; i < kLatencyBuckets - 1; ++i) {
    bounds[i] = bound;
    bound *= kLatencyBucketRatio;
  }
  bounds[kLatencyBuckets - 1] = std::numeric_limits<double>::infinity();
  return bounds;
}
constexpr std::array<double, kLatencyBuckets> kUpperBounds = MakeUpperBounds();
static_assert(kUpperBounds[kLatencyBuckets - 2] > 60 && kUpperBounds[kLatencyBuckets - 2] < 120);

// Tag of a slot that holds no second (never written, or being reset).
constexpr std::int64_t kNoSecond = std::numeric_limits<std::int64_t>::min();

std::int64_t SecondOf(ReleaseWindow::Clock::time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

int SlotOf(std::int64_t second) {
  const auto slot = second % ReleaseWindow::kSlots;
  return static_cast<int>(slot < 0 ? slot + ReleaseWindow::kSlots : slot);
}

// Only a shard's own writer modifies its counters, so a load and a store (no locked
// read-modify-write) is an exact increment; readers see either value.
template <typename T>
void Bump(std::atomic<T>& counter) {
  counter.store(counter.load(memory_order_relaxed) + 1, memory_order_relaxed);
}

}  // namespace

double LatencyBucketLower(int i) {
  i = std::clamp(i, 0, kLatencyBuckets - 1);
  return i == 0 ? 0.0 : kUpperBounds[i - 1];
}

double LatencyBucketUpper(int i) { return kUpperBounds[std::clamp(i, 0, kLatencyBuckets - 1)]; }

int LatencyBucketFor(std::chrono::microseconds latency) {
  const double seconds = static_cast<double>(latency.count()) * 1e-6;
  if (!(seconds >= kFirstLatencyBound)) return 0;
  const double steps = std::log(seconds / kFirstLatencyBound) / std::log(kLatencyBucketRatio);
  int i = std::clamp(1 + static_cast<int>(std::min(steps, 1e6)), 1, kLatencyBuckets - 1);
  // The log may round across a bound; the table is the truth.
  if (seconds < kUpperBounds[i - 1]) {
    --i;
  } else if (seconds >= kUpperBounds[i]) {
    ++i;
  }
  return i;
}

double WindowCounts::LatencyQuantile(double q) const {
  std::uint64_t total = 0;
  for (auto n : latency) total += n;
  if (total == 0 || std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  std::uint64_t below = 0;
  int last_seen = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    const std::uint64_t n = latency[i];
    if (n == 0) continue;
    last_seen = i;
    if (static_cast<double>(below + n) >= rank) {
      if (i == kLatencyBuckets - 1) return LatencyBucketLower(i);  // open-ended: no width
      const double within = (rank - static_cast<double>(below)) / static_cast<double>(n);
      const double lower = LatencyBucketLower(i);
      return lower + std::clamp(within, 0.0, 1.0) * (LatencyBucketUpper(i) - lower);
    }
    below += n;
  }
  return LatencyBucketLower(last_seen);  // not reached: rank <= total
}

double WindowCounts::ErrorRate() const {
  if (requests == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(errors) / static_cast<double>(requests);
}

// One second of one shard. 32-bit counters: a second of one worker stays far below 4 G
// requests, and they halve the ring (272 bytes a slot).
struct Slot {
  std::atomic<std::int64_t> second{kNoSecond};
  std::atomic<std::uint32_t> requests{0};
  std::atomic<std::uint32_t> errors{0};
  std::array<std::atomic<std::uint32_t>, kLatencyBuckets> latency{};
};

// One writer thread's ring. Aligned so that two workers never write the same cache line.
struct alignas(64) ReleaseWindow::Shard {
  std::array<Slot, kSlots> slots;
  std::atomic<std::uint64_t> total_requests{0};
  std::atomic<std::uint64_t> total_errors{0};
};
static_assert(sizeof(Slot) == 272);

ReleaseWindow::ReleaseWindow(int shards) {
  static_assert(sizeof(Shard) <= 164 * 1024, "a shard's ring should stay ~160 KB");
  shards_.resize(std::max(shards, 1));
  for (auto& shard : shards_) shard = std::make_unique<Shard>();
}

ReleaseWindow::~ReleaseWindow() = default;

// Recycling a slot is a seqlock write: the tag goes to kNoSecond, the counters to zero, then the
// tag to the new second, with a release fence and store around the zeroing so that a reader
// that saw any zero also sees the tag change (see Sum).
void ReleaseWindow::Record(int shard, int status, std::chrono::microseconds latency,
                           Clock::time_point now) {
  assert(shard >= 0 && shard < static_cast<int>(shards_.size()));
  Shard& s = *shards_[shard];
  const bool error = status >= 500;
  const std::int64_t second = SecondOf(now);
  Slot& slot = s.slots[SlotOf(second)];
  const std::int64_t tag = slot.second.load(memory_order_relaxed);
  // A sample older than the second its slot already holds (over kSlots late) has no slot left.
  if (tag <= second) {
    if (tag != second) {
      slot.second.store(kNoSecond, memory_order_relaxed);
      std::atomic_thread_fence(memory_order_release);
      slot.requests.store(0, memory_order_relaxed);
      slot.errors.store(0, memory_order_relaxed);
      for (auto& n : slot.latency) n.store(0, memory_order_relaxed);
      slot.second.store(second, memory_order_release);
    }
    Bump(slot.requests);
    if (error) Bump(slot.errors);
    Bump(slot.latency[LatencyBucketFor(latency)]);
  }
  Bump(s.total_requests);
  if (error) Bump(s.total_errors);
}

// Tolerance of a read racing the writers: a slot recycled while it is read is detected (its tag
// changed) and left out, so a Sum never counts a half-reset slot. What it can lose is at most one
// slot per shard, the one its writer is recycling at that moment; a slot is recycled kSlots
// seconds after the second it held, so only a window of (nearly) kSlots seconds loses anything:
// its oldest second. Counters are read one by one while their writer goes on, so `requests`,
// `errors` and the histogram of one Sum may disagree by the requests recorded during the read.
WindowCounts ReleaseWindow::Sum(Clock::time_point now, std::chrono::seconds window) const {
  WindowCounts sum;
  const std::int64_t last = SecondOf(now);
  const std::int64_t seconds = std::clamp<std::int64_t>(window.count(), 0, kSlots);
  for (const auto& shard : shards_) {
    for (std::int64_t second = last - seconds + 1; second <= last; ++second) {
      const Slot& slot = shard->slots[SlotOf(second)];
      if (slot.second.load(memory_order_acquire) != second) continue;
      WindowCounts part;
      part.requests = slot.requests.load(memory_order_relaxed);
      part.errors = slot.errors.load(memory_order_relaxed);
      for (int i = 0; i < kLatencyBuckets; ++i) {
        part.latency[i] = slot.latency[i].load(memory_order_relaxed);
      }
      std::atomic_thread_fence(memory_order_acquire);
      if (slot.second.load(memory_order_relaxed) != second) continue;  // recycled meanwhile
      sum.requests += part.requests;
      sum.errors += part.errors;
      for (int i = 0; i < kLatencyBuckets; ++i) sum.latency[i] += part.latency[i];
    }
  }
  return sum;
}

std::uint64_t ReleaseWindow::total_requests() const {
  std::uint64_t total = 0;
  for (const auto& shard : shards_) total += shard->total_requests.load(memory_order_relaxed);
  return total;
}

std::uint64_t ReleaseWindow::total_errors() const {
  std::uint64_t total = 0;
  for (const auto& shard : shards_) total += shard->total_errors.load(memory_order_relaxed);
  return total;
}

}  // namespace slipway::metrics
