#include "metrics/request_counters.h"

#include <algorithm>
#include <cassert>

namespace slipway::metrics {
namespace {

using std::memory_order_relaxed;

// The bounds in whole microseconds, so a bucket is found with integer compares.
constexpr std::array<std::int64_t, kDurationBounds.size()> MakeBoundsUs() {
  std::array<std::int64_t, kDurationBounds.size()> us{};
  for (std::size_t i = 0; i < us.size(); ++i) {
    us[i] = static_cast<std::int64_t>(kDurationBounds[i] * 1e6 + 0.5);
  }
  return us;
}
constexpr auto kBoundsUs = MakeBoundsUs();
static_assert(kBoundsUs.front() == 5'000 && kBoundsUs.back() == 10'000'000);

// Only a shard's own writer modifies its counters, so a load and a store (no locked
// read-modify-write) is an exact increment; readers see either value.
void Add(std::atomic<std::uint64_t>& counter, std::uint64_t n) {
  counter.store(counter.load(memory_order_relaxed) + n, memory_order_relaxed);
}

}  // namespace

const char* HttpMethodName(HttpMethod method) {
  switch (method) {
    case HttpMethod::kGet:
      return "GET";
    case HttpMethod::kHead:
      return "HEAD";
    case HttpMethod::kPost:
      return "POST";
    case HttpMethod::kPut:
      return "PUT";
    case HttpMethod::kDelete:
      return "DELETE";
    case HttpMethod::kPatch:
      return "PATCH";
    case HttpMethod::kOptions:
      return "OPTIONS";
    case HttpMethod::kOther:
      break;
  }
  return "other";
}

int StatusClassIndex(int status) { return std::clamp(status / 100, 1, kStatusClasses) - 1; }

const char* StatusClassName(int index) {
  static constexpr const char* kNames[kStatusClasses] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  return kNames[std::clamp(index, 0, kStatusClasses - 1)];
}

int DurationBucketFor(std::chrono::microseconds duration) {
  const std::int64_t us = duration.count();
  int i = 0;
  while (i < static_cast<int>(kBoundsUs.size()) && us > kBoundsUs[static_cast<std::size_t>(i)]) {
    ++i;
  }
  return i;
}

const char* RetryReasonName(RetryReason reason) {
  switch (reason) {
    case RetryReason::kConnectError:
      return "connect_error";
    case RetryReason::kStaleConnection:
      return "stale_connection";
    case RetryReason::kUpstreamReset:
      return "upstream_reset";
    case RetryReason::kCanary5xx:
      break;
  }
  return "canary_5xx";
}

std::uint64_t RequestTotals::total_requests() const {
  std::uint64_t total = 0;
  for (const auto& by_method : requests) {
    for (std::uint64_t n : by_method) total += n;
  }
  return total;
}

std::uint64_t RequestTotals::errors() const {
  std::uint64_t total = 0;
  for (std::uint64_t n : requests[kStatusClasses - 1]) total += n;
  return total;
}

// One writer thread's 60 counters, aligned so two workers never share a cache line.
struct alignas(64) RequestCounters::Shard {
  std::array<std::array<std::atomic<std::uint64_t>, kHttpMethods>, kStatusClasses> requests{};
  std::array<std::atomic<std::uint64_t>, kDurationBuckets> duration{};
  std::atomic<std::uint64_t> duration_sum_us{0};
  std::atomic<std::uint64_t> connect_errors{0};
  std::array<std::atomic<std::uint64_t>, kRetryReasons> retries{};
  std::atomic<std::uint64_t> client_aborts{0};
  std::atomic<std::uint64_t> slow{0};
};

RequestCounters::RequestCounters(int shards) {
  shards_.resize(static_cast<std::size_t>(std::max(shards, 1)));
  for (auto& shard : shards_) shard = std::make_unique<Shard>();
}

RequestCounters::~RequestCounters() = default;

void RequestCounters::RecordRequest(int shard, int status, HttpMethod method,
                                    std::chrono::microseconds duration) {
  assert(shard >= 0 && shard < shards());
  Shard& s = *shards_[static_cast<std::size_t>(shard)];
  const auto m = std::min(static_cast<std::size_t>(method), std::size_t{kHttpMethods - 1});
  Add(s.requests[static_cast<std::size_t>(StatusClassIndex(status))][m], 1);
  Add(s.duration[static_cast<std::size_t>(DurationBucketFor(duration))], 1);
  Add(s.duration_sum_us, static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0)));
  const std::int64_t slow_us = slow_threshold_us_.load(memory_order_relaxed);
  if (slow_us > 0 && duration.count() > slow_us) Add(s.slow, 1);
}

void RequestCounters::SetSlowThreshold(std::chrono::microseconds threshold) {
  slow_threshold_us_.store(std::max<std::int64_t>(threshold.count(), 0), memory_order_relaxed);
}

void RequestCounters::RecordClientAbort(int shard) {
  assert(shard >= 0 && shard < shards());
  Add(shards_[static_cast<std::size_t>(shard)]->client_aborts, 1);
}

void RequestCounters::RecordConnectError(int shard) {
  assert(shard >= 0 && shard < shards());
  Add(shards_[static_cast<std::size_t>(shard)]->connect_errors, 1);
}

void RequestCounters::RecordRetry(int shard, RetryReason reason) {
  assert(shard >= 0 && shard < shards());
  const auto r = std::min(static_cast<std::size_t>(reason), std::size_t{kRetryReasons - 1});
  Add(shards_[static_cast<std::size_t>(shard)]->retries[r], 1);
}

RequestTotals RequestCounters::Totals() const {
  RequestTotals t;
  for (const auto& shard : shards_) {
    for (int c = 0; c < kStatusClasses; ++c) {
      for (int m = 0; m < kHttpMethods; ++m) {
        t.requests[c][m] += shard->requests[c][m].load(memory_order_relaxed);
      }
    }
    for (int i = 0; i < kDurationBuckets; ++i) {
      t.duration[i] += shard->duration[i].load(memory_order_relaxed);
    }
    t.duration_sum_us += shard->duration_sum_us.load(memory_order_relaxed);
    t.connect_errors += shard->connect_errors.load(memory_order_relaxed);
    for (int r = 0; r < kRetryReasons; ++r) {
      t.retries[r] += shard->retries[r].load(memory_order_relaxed);
    }
    t.client_aborts += shard->client_aborts.load(memory_order_relaxed);
    t.slow += shard->slow.load(memory_order_relaxed);
  }
  return t;
}

}  // namespace slipway::metrics
