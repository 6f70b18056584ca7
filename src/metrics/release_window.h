// ReleaseWindow: what the proxy saw of one release's requests over the last minutes, kept in
// one-second slots so any window up to kSlots seconds can be summed. The proxy records each
// finished request (status, latency) from its worker threads; the analysis reads sums from the
// controller thread. Each worker writes only its own shard (relaxed atomics, no lock, no
// shared cache line), so recording costs a few uncontended increments.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace slipway::metrics {

// Latency histogram: bucket i holds latencies in [LatencyBucketLower(i), LatencyBucketUpper(i));
// bounds grow by a fixed ratio from 100 us, the last bucket is open-ended.
constexpr int kLatencyBuckets = 64;
double LatencyBucketLower(int i);  // seconds
double LatencyBucketUpper(int i);  // seconds; +inf for the last
int LatencyBucketFor(std::chrono::microseconds latency);

using LatencyHistogram = std::array<std::uint64_t, kLatencyBuckets>;

// Sums over a window.
struct WindowCounts {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;  // 5xx answers (the proxy's own 502/504 for this release included)
  LatencyHistogram latency{};
  // Quantile q (0..1] of the latency in seconds, interpolated within its bucket; NaN when empty.
  double LatencyQuantile(double q) const;
  // errors / requests; NaN when there are no requests.
  double ErrorRate() const;
};

class ReleaseWindow {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kSlots = 600;  // seconds of history

  explicit ReleaseWindow(int shards);
  ~ReleaseWindow();
  ReleaseWindow(const ReleaseWindow&) = delete;
  ReleaseWindow& operator=(const ReleaseWindow&) = delete;

  // One finished request. `shard` < shards; only one thread may write a given shard.
  void Record(int shard, int status, std::chrono::microseconds latency, Clock::time_point now);
  // Sums of the last `window` (whole seconds, at most kSlots) ending at `now`, all shards.
  WindowCounts Sum(Clock::time_point now, std::chrono::seconds window) const;
  // Totals since creation, all shards (for status and exposition).
  std::uint64_t total_requests() const;
  std::uint64_t total_errors() const;

 private:
  struct Shard;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace slipway::metrics
