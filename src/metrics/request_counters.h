// RequestCounters: cumulative counts of the requests one release answered (or, for an app's
// listener, the requests the proxy answered itself without a backend), for the Prometheus
// exposition: requests by status class and method, a duration histogram with Prometheus-style
// buckets, upstream connect errors, retries and client aborts. Unlike ReleaseWindow (a sliding
// window of every attempt, for the canary analysis), these count each client request once, when
// it ends, so they match what the clients saw. The proxy records from its worker threads; each
// worker writes only its own shard (relaxed atomics, no lock, no shared cache line); any thread
// reads the sums.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace slipway::metrics {

// The methods the counters tell apart; any other (TRACE, CONNECT, extensions) is kOther, so the
// method label stays bounded.
enum class HttpMethod : std::uint8_t {
  kGet,
  kHead,
  kPost,
  kPut,
  kDelete,
  kPatch,
  kOptions,
  kOther
};
constexpr int kHttpMethods = 8;
const char* HttpMethodName(HttpMethod method);  // "GET" ... "OPTIONS", "other"

// Status classes 1xx..5xx; index 0 is 1xx. A status outside 100..599 counts in the nearest class.
constexpr int kStatusClasses = 5;
int StatusClassIndex(int status);
const char* StatusClassName(int index);  // "1xx" ... "5xx"

// Request duration buckets: inclusive upper bounds in seconds (Prometheus `le`), then +Inf.
// Fine enough below 1 s for p50/p95/p99 of a web app, up to the 10 s a request rarely exceeds.
inline constexpr std::array<double, 11> kDurationBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                           0.5,   1,    2.5,   5,    10};
constexpr int kDurationBuckets = static_cast<int>(kDurationBounds.size()) + 1;
int DurationBucketFor(std::chrono::microseconds duration);

// Why a request was sent to an upstream again (upstream_exchange.cc has the rules).
enum class RetryReason : std::uint8_t {
  kConnectError,     // the connect failed: another backend
  kStaleConnection,  // a pooled connection the backend had closed: a fresh one
  kUpstreamReset,    // a fresh connection failed before any answer: another backend
  kCanary5xx,        // a canary's 5xx: once more on the stable group
};
constexpr int kRetryReasons = 4;
const char* RetryReasonName(RetryReason reason);  // "connect_error", ...

// Sums over every shard. Read counter by counter while the writers go on, so the parts of one
// RequestTotals may disagree by the requests recorded during the read.
struct RequestTotals {
  std::array<std::array<std::uint64_t, kHttpMethods>, kStatusClasses> requests{};
  std::array<std::uint64_t, kDurationBuckets> duration{};  // per bucket, not cumulative
  std::uint64_t duration_sum_us = 0;                       // microseconds
  std::uint64_t connect_errors = 0;
  std::array<std::uint64_t, kRetryReasons> retries{};
  std::uint64_t client_aborts = 0;
  // Requests that took longer than the slow threshold (see SetSlowThreshold), counted exactly.
  std::uint64_t slow = 0;

  std::uint64_t total_requests() const;
  std::uint64_t errors() const;  // 5xx answers, every method
};

class RequestCounters {
 public:
  explicit RequestCounters(int shards);
  ~RequestCounters();
  RequestCounters(const RequestCounters&) = delete;
  RequestCounters& operator=(const RequestCounters&) = delete;

  // `shard` < shards(); only one thread may write a given shard.
  // A request that got an answer (`status` as the client got it), from its head to its end.
  void RecordRequest(int shard, int status, HttpMethod method, std::chrono::microseconds duration);
  // A request whose client left before any answer: in neither the requests nor the histogram.
  void RecordClientAbort(int shard);
  void RecordConnectError(int shard);
  void RecordRetry(int shard, RetryReason reason);

  // From now on, a request whose duration is above `threshold` counts as slow (the latency SLO
  // of the app); zero (the default) counts none. Any thread.
  void SetSlowThreshold(std::chrono::microseconds threshold);

  RequestTotals Totals() const;  // any thread
  int shards() const { return static_cast<int>(shards_.size()); }

 private:
  struct Shard;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::int64_t> slow_threshold_us_{0};
};

}  // namespace slipway::metrics
