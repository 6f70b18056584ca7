// RequestCounters: status classes, methods, duration buckets at their bounds, slow requests,
// shards summed, concurrent writers.
#include "metrics/request_counters.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace slipway::metrics {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::size_t Class(int status) { return static_cast<std::size_t>(StatusClassIndex(status)); }
std::size_t Method(HttpMethod m) { return static_cast<std::size_t>(m); }

TEST(RequestCounters, CountsByStatusClassAndMethod) {
  RequestCounters counters(2);
  counters.RecordRequest(0, 200, HttpMethod::kGet, milliseconds(1));
  counters.RecordRequest(1, 204, HttpMethod::kGet, milliseconds(1));
  counters.RecordRequest(0, 404, HttpMethod::kGet, milliseconds(1));
  counters.RecordRequest(1, 503, HttpMethod::kPost, milliseconds(1));
  counters.RecordRequest(0, 101, HttpMethod::kGet, milliseconds(1));
  counters.RecordRequest(0, 308, HttpMethod::kOther, milliseconds(1));
  const RequestTotals t = counters.Totals();
  EXPECT_EQ(t.requests[Class(200)][Method(HttpMethod::kGet)], 2u);
  EXPECT_EQ(t.requests[Class(404)][Method(HttpMethod::kGet)], 1u);
  EXPECT_EQ(t.requests[Class(500)][Method(HttpMethod::kPost)], 1u);
  EXPECT_EQ(t.requests[Class(100)][Method(HttpMethod::kGet)], 1u);
  EXPECT_EQ(t.requests[Class(300)][Method(HttpMethod::kOther)], 1u);
  EXPECT_EQ(t.total_requests(), 6u);
  std::uint64_t histogram = 0;
  for (auto n : t.duration) histogram += n;
  EXPECT_EQ(histogram, 6u);
  EXPECT_EQ(t.duration_sum_us, 6'000u);
}

TEST(RequestCounters, SlowRequestsAreThoseAboveTheThreshold) {
  RequestCounters counters(2);
  counters.RecordRequest(0, 200, HttpMethod::kGet, seconds(5));  // no threshold yet: none slow
  counters.SetSlowThreshold(milliseconds(300));
  counters.RecordRequest(0, 200, HttpMethod::kGet, milliseconds(300));  // at the target: fine
  counters.RecordRequest(1, 200, HttpMethod::kGet, microseconds(300'001));
  counters.RecordRequest(0, 503, HttpMethod::kPost, seconds(2));
  counters.RecordRequest(1, 500, HttpMethod::kGet, milliseconds(1));
  RequestTotals t = counters.Totals();
  EXPECT_EQ(t.slow, 2u);
  EXPECT_EQ(t.errors(), 2u);
  EXPECT_EQ(t.total_requests(), 5u);
  counters.SetSlowThreshold(microseconds(0));
  counters.RecordRequest(0, 200, HttpMethod::kGet, seconds(9));
  EXPECT_EQ(counters.Totals().slow, 2u);
}

TEST(RequestCounters, StatusOutsideTheClassesCountsInTheNearest) {
  EXPECT_EQ(StatusClassIndex(0), 0);
  EXPECT_EQ(StatusClassIndex(199), 0);
  EXPECT_EQ(StatusClassIndex(599), 4);
  EXPECT_EQ(StatusClassIndex(999), 4);
  EXPECT_STREQ(StatusClassName(StatusClassIndex(418)), "4xx");
}

TEST(RequestCounters, DurationBucketsAreInclusiveUpperBounds) {
  EXPECT_EQ(DurationBucketFor(microseconds(0)), 0);
  EXPECT_EQ(DurationBucketFor(microseconds(5'000)), 0);  // le="0.005" holds 5 ms itself
  EXPECT_EQ(DurationBucketFor(microseconds(5'001)), 1);
  EXPECT_EQ(DurationBucketFor(milliseconds(10)), 1);
  EXPECT_EQ(DurationBucketFor(milliseconds(250)), 5);
  EXPECT_EQ(DurationBucketFor(seconds(1)), 7);
  EXPECT_EQ(DurationBucketFor(seconds(10)), 10);
  EXPECT_EQ(DurationBucketFor(microseconds(10'000'001)), kDurationBuckets - 1);  // +Inf
  EXPECT_EQ(DurationBucketFor(microseconds(-5)), 0);  // a clock step back: the first bucket
}

TEST(RequestCounters, ConnectErrorsRetriesAndAbortsAreSeparate) {
  RequestCounters counters(1);
  counters.RecordConnectError(0);
  counters.RecordConnectError(0);
  counters.RecordRetry(0, RetryReason::kConnectError);
  counters.RecordRetry(0, RetryReason::kCanary5xx);
  counters.RecordRetry(0, RetryReason::kCanary5xx);
  counters.RecordClientAbort(0);
  const RequestTotals t = counters.Totals();
  EXPECT_EQ(t.connect_errors, 2u);
  EXPECT_EQ(t.retries[static_cast<std::size_t>(RetryReason::kConnectError)], 1u);
  EXPECT_EQ(t.retries[static_cast<std::size_t>(RetryReason::kCanary5xx)], 2u);
  EXPECT_EQ(t.retries[static_cast<std::size_t>(RetryReason::kStaleConnection)], 0u);
  EXPECT_EQ(t.client_aborts, 1u);
  EXPECT_EQ(t.total_requests(), 0u);  // an abort is not an answered request
  EXPECT_STREQ(RetryReasonName(RetryReason::kStaleConnection), "stale_connection");
  EXPECT_STREQ(HttpMethodName(HttpMethod::kOther), "other");
  EXPECT_STREQ(HttpMethodName(HttpMethod::kDelete), "DELETE");
}

// One writer per shard, a reader summing meanwhile: no count is lost, the reader never sees
// more than was written.
TEST(RequestCounters, ConcurrentWritersOneShardEach) {
  constexpr int kShards = 4;
  constexpr int kPerShard = 100'000;
  RequestCounters counters(kShards);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    std::uint64_t last = 0;
    while (!done.load()) {
      const std::uint64_t now = counters.Totals().total_requests();
      EXPECT_GE(now, last);
      EXPECT_LE(now, std::uint64_t{kShards} * kPerShard);
      last = now;
    }
  });
  std::vector<std::thread> writers;
  for (int shard = 0; shard < kShards; ++shard) {
    writers.emplace_back([&counters, shard] {
      for (int i = 0; i < kPerShard; ++i) {
        counters.RecordRequest(shard, 200, HttpMethod::kGet, microseconds(i % 20'000));
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  const RequestTotals t = counters.Totals();
  EXPECT_EQ(t.total_requests(), std::uint64_t{kShards} * kPerShard);
  std::uint64_t histogram = 0;
  for (auto n : t.duration) histogram += n;
  EXPECT_EQ(histogram, t.total_requests());
}

}  // namespace
}  // namespace slipway::metrics
