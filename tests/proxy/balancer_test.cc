// Balancer: backend choice and passive health, on fake time and plain Backend objects.
#include "proxy/balancer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>
#include <vector>

namespace slipway::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = Balancer::Clock;

const Clock::time_point kT0 = Clock::time_point(1000h);  // any fixed point: time is injected

BackendList MakeBackends(int n) {
  BackendList backends;
  for (int i = 0; i < n; ++i) {
    auto backend = std::make_shared<Backend>();
    backend->id = "app-r1-" + std::to_string(i);
    backend->port = static_cast<std::uint16_t>(10'000 + i);
    backend->release = 1;
    backends.push_back(std::move(backend));
  }
  return backends;
}

OutlierOptions Outlier(int consecutive_failures = 3, int max_ejected_percent = 100) {
  return OutlierOptions{.enabled = true,
                        .consecutive_failures = consecutive_failures,
                        .count_5xx = true,
                        .base_ejection = 10s,
                        .max_ejection = 25s,
                        .max_ejected_percent = max_ejected_percent};
}

void Fail(Balancer& balancer, const BackendList& pool, Backend& backend, int times,
          Clock::time_point now = kT0, UpstreamOutcome outcome = UpstreamOutcome::kConnectError) {
  for (int i = 0; i < times; ++i) balancer.Record(pool, backend, outcome, now);
}

// How often each backend is picked in `picks` picks, each lease returned at once.
std::map<const Backend*, int> Spread(Balancer& balancer, const BackendList& pool, int picks,
                                     Clock::time_point now = kT0,
                                     const Backend* exclude = nullptr) {
  std::map<const Backend*, int> counts;
  for (int i = 0; i < picks; ++i) {
    BackendLease lease = balancer.Pick(pool, exclude, now);
    if (lease) ++counts[lease.backend().get()];
  }
  return counts;
}

TEST(BalancerTest, EmptyPoolGivesNoLease) {
  Balancer balancer(Balancing::kLeastRequests, Outlier());
  EXPECT_FALSE(balancer.Pick({}, nullptr, kT0));
}

TEST(BalancerTest, LeastRequestsPrefersFewerInflight) {
  BackendList pool = MakeBackends(3);
  Balancer balancer(Balancing::kLeastRequests, Outlier());
  std::vector<BackendLease> held;
  held.emplace_back(pool[0]);
  held.emplace_back(pool[0]);
  held.emplace_back(pool[1]);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(balancer.Pick(pool, nullptr, kT0).backend(), pool[2]);
  }
  held.emplace_back(pool[2]);
  held.emplace_back(pool[2]);  // now 2, 1, 2
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(balancer.Pick(pool, nullptr, kT0).backend(), pool[1]);
  }
  // A held lease counts: picks that are kept spread one by one.
  held.clear();
  std::vector<BackendLease> kept;
  for (int i = 0; i < 9; ++i) kept.push_back(balancer.Pick(pool, nullptr, kT0));
  for (const auto& backend : pool) EXPECT_EQ(backend->inflight.load(), 3);
  kept.clear();
  for (const auto& backend : pool) EXPECT_EQ(backend->inflight.load(), 0);
}

TEST(BalancerTest, LeastRequestsTiesRotateEvenly) {
  BackendList pool = MakeBackends(3);
  Balancer balancer(Balancing::kLeastRequests, Outlier());
  std::map<const Backend*, int> counts = Spread(balancer, pool, 3000);
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [backend, count] : counts) {
    EXPECT_NEAR(count, 1000, 50) << backend->id;
  }
}

TEST(BalancerTest, RoundRobinIgnoresInflight) {
  BackendList pool = MakeBackends(3);
  Balancer balancer(Balancing::kRoundRobin, Outlier());
  BackendLease busy0(pool[0]);
  BackendLease busy1(pool[0]);
  std::map<const Backend*, int> counts = Spread(balancer, pool, 300);
  for (const auto& backend : pool) EXPECT_EQ(counts[backend.get()], 100) << backend->id;
}

TEST(BalancerTest, DrainingIsNeverPicked) {
  for (Balancing balancing : {Balancing::kLeastRequests, Balancing::kRoundRobin}) {
    BackendList pool = MakeBackends(3);
    Balancer balancer(balancing, Outlier());
    pool[1]->draining = true;
    // Idle and draining must lose to busy and serving.
    BackendLease busy(pool[0]);
    BackendLease busier(pool[2]);
    std::map<const Backend*, int> counts = Spread(balancer, pool, 100);
    EXPECT_EQ(counts.count(pool[1].get()), 0u);
    EXPECT_EQ(counts[pool[0].get()] + counts[pool[2].get()], 100);
    pool[0]->draining = true;
    pool[2]->draining = true;
    EXPECT_FALSE(balancer.Pick(pool, nullptr, kT0));
  }
}

TEST(BalancerTest, ExcludeIsHonoured) {
  for (Balancing balancing : {Balancing::kLeastRequests, Balancing::kRoundRobin}) {
    BackendList pool = MakeBackends(2);
    Balancer balancer(balancing, Outlier());
    BackendLease busy(pool[1]);  // least requests would pick pool[0] if it could
    std::map<const Backend*, int> counts = Spread(balancer, pool, 50, kT0, pool[0].get());
    EXPECT_EQ(counts[pool[1].get()], 50);
    BackendList one = {pool[0]};
    EXPECT_FALSE(balancer.Pick(one, pool[0].get(), kT0));
  }
}

TEST(BalancerTest, ConsecutiveFailuresEject) {
  BackendList pool = MakeBackends(2);
  Balancer balancer(Balancing::kLeastRequests, Outlier(/*consecutive_failures=*/3));
  Fail(balancer, pool, *pool[0], 2);
  EXPECT_FALSE(Balancer::Ejected(*pool[0], kT0));
  EXPECT_EQ(pool[0]->consecutive_failures.load(), 2);
  Fail(balancer, pool, *pool[0], 1);
  EXPECT_TRUE(Balancer::Ejected(*pool[0], kT0));
  EXPECT_EQ(pool[0]->ejections.load(), 1u);
  EXPECT_EQ(pool[0]->times_ejected.load(), 1);
  EXPECT_EQ(pool[0]->consecutive_failures.load(), 0);  // the next ejection needs 3 more
  EXPECT_FALSE(Balancer::Ejected(*pool[1], kT0));
}

TEST(BalancerTest, EveryLocalAndServerErrorCounts) {
  BackendList pool = MakeBackends(2);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3));
  balancer.Record(pool, *pool[0], UpstreamOutcome::kConnectError, kT0);
  balancer.Record(pool, *pool[0], UpstreamOutcome::kTimeout, kT0);
  balancer.Record(pool, *pool[0], UpstreamOutcome::kServerError, kT0);
  EXPECT_TRUE(Balancer::Ejected(*pool[0], kT0));
}

TEST(BalancerTest, SuccessInBetweenResetsTheCount) {
  BackendList pool = MakeBackends(2);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3));
  for (int round = 0; round < 10; ++round) {
    Fail(balancer, pool, *pool[0], 2);
    balancer.Record(pool, *pool[0], UpstreamOutcome::kSuccess, kT0);
  }
  EXPECT_FALSE(Balancer::Ejected(*pool[0], kT0));
  EXPECT_EQ(pool[0]->consecutive_failures.load(), 0);
  EXPECT_EQ(pool[0]->ejections.load(), 0u);
}

TEST(BalancerTest, ServerErrorsCountOnlyWithCount5xx) {
  BackendList pool = MakeBackends(2);
  OutlierOptions options = Outlier(3);
  options.count_5xx = false;
  Balancer balancer(Balancing::kLeastRequests, options);
  Fail(balancer, pool, *pool[0], 10, kT0, UpstreamOutcome::kServerError);
  EXPECT_FALSE(Balancer::Ejected(*pool[0], kT0));
  // An answer, even a 5xx, shows the backend is up: it ends a run of connect errors.
  Fail(balancer, pool, *pool[0], 2);
  balancer.Record(pool, *pool[0], UpstreamOutcome::kServerError, kT0);
  Fail(balancer, pool, *pool[0], 2);
  EXPECT_FALSE(Balancer::Ejected(*pool[0], kT0));
}

TEST(BalancerTest, ClientAbortIsIgnored) {
  BackendList pool = MakeBackends(2);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3));
  Fail(balancer, pool, *pool[0], 20, kT0, UpstreamOutcome::kClientAbort);
  EXPECT_EQ(pool[0]->consecutive_failures.load(), 0);
  // Nor does it break a run of failures.
  Fail(balancer, pool, *pool[0], 2);
  Fail(balancer, pool, *pool[0], 5, kT0, UpstreamOutcome::kClientAbort);
  EXPECT_EQ(pool[0]->consecutive_failures.load(), 2);
  Fail(balancer, pool, *pool[0], 1);
  EXPECT_TRUE(Balancer::Ejected(*pool[0], kT0));
}

TEST(BalancerTest, EjectedIsSkippedUntilItsTimePasses) {
  for (Balancing balancing : {Balancing::kLeastRequests, Balancing::kRoundRobin}) {
    BackendList pool = MakeBackends(3);
    Balancer balancer(balancing, Outlier(3));
    BackendLease busy(pool[1]);  // least requests would prefer the ejected, idle pool[0]
    Fail(balancer, pool, *pool[0], 3);
    std::map<const Backend*, int> during = Spread(balancer, pool, 100, kT0 + 10s - 1ns);
    EXPECT_EQ(during.count(pool[0].get()), 0u);
    EXPECT_EQ(during[pool[1].get()] + during[pool[2].get()], 100);
    EXPECT_TRUE(Balancer::Ejected(*pool[0], kT0 + 10s - 1ns));
    EXPECT_FALSE(Balancer::Ejected(*pool[0], kT0 + 10s));
    std::map<const Backend*, int> after = Spread(balancer, pool, 100, kT0 + 10s);
    EXPECT_GT(after[pool[0].get()], 0);
  }
}

TEST(BalancerTest, EjectionGrowsWithEachEjectionInARowAndIsCapped) {
  BackendList pool = MakeBackends(2);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3));  // base 10s, max 25s
  Clock::time_point now = kT0;
  for (Clock::duration expected : {10s, 20s, 25s, 25s}) {
    Fail(balancer, pool, *pool[0], 3, now);
    ASSERT_TRUE(Balancer::Ejected(*pool[0], now));
    EXPECT_TRUE(Balancer::Ejected(*pool[0], now + expected - 1ns));
    EXPECT_FALSE(Balancer::Ejected(*pool[0], now + expected));
    // A request that was in flight when it was ejected succeeds: the streak goes on.
    balancer.Record(pool, *pool[0], UpstreamOutcome::kSuccess, now + 1s);
    now += expected;
  }
  EXPECT_EQ(pool[0]->times_ejected.load(), 4);
  EXPECT_EQ(pool[0]->ejections.load(), 4u);
  // Back, and answering: the next ejection starts from the base again.
  balancer.Record(pool, *pool[0], UpstreamOutcome::kSuccess, now);
  EXPECT_EQ(pool[0]->times_ejected.load(), 0);
  Fail(balancer, pool, *pool[0], 3, now);
  EXPECT_TRUE(Balancer::Ejected(*pool[0], now + 10s - 1ns));
  EXPECT_FALSE(Balancer::Ejected(*pool[0], now + 10s));
}

TEST(BalancerTest, FailuresWhileEjectedDoNotExtendIt) {
  BackendList pool = MakeBackends(2);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3));
  Fail(balancer, pool, *pool[0], 3, kT0);
  Fail(balancer, pool, *pool[0], 30, kT0 + 5s);  // requests sent before the ejection
  EXPECT_FALSE(Balancer::Ejected(*pool[0], kT0 + 10s));
  EXPECT_EQ(pool[0]->ejections.load(), 1u);
}

TEST(BalancerTest, AllEjectedStillPicksOne) {
  BackendList pool = MakeBackends(2);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3, /*max_ejected_percent=*/100));
  Fail(balancer, pool, *pool[0], 3);
  Fail(balancer, pool, *pool[1], 3);
  ASSERT_TRUE(Balancer::Ejected(*pool[0], kT0));
  ASSERT_TRUE(Balancer::Ejected(*pool[1], kT0));
  std::map<const Backend*, int> counts = Spread(balancer, pool, 100);
  EXPECT_EQ(counts[pool[0].get()] + counts[pool[1].get()], 100);
  EXPECT_GT(counts[pool[0].get()], 0);  // and they share the load
  EXPECT_GT(counts[pool[1].get()], 0);
}

TEST(BalancerTest, RetryGoesToAnEjectedBackendRatherThanNowhere) {
  BackendList pool = MakeBackends(2);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3));
  Fail(balancer, pool, *pool[1], 3);
  ASSERT_TRUE(Balancer::Ejected(*pool[1], kT0));
  EXPECT_EQ(balancer.Pick(pool, pool[0].get(), kT0).backend(), pool[1]);
}

TEST(BalancerTest, MaxEjectedPercentKeepsHalfOfTwoServing) {
  BackendList pool = MakeBackends(2);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3, /*max_ejected_percent=*/50));
  Fail(balancer, pool, *pool[0], 3);
  Fail(balancer, pool, *pool[1], 10);
  EXPECT_TRUE(Balancer::Ejected(*pool[0], kT0));
  EXPECT_FALSE(Balancer::Ejected(*pool[1], kT0));
  EXPECT_EQ(pool[0]->ejections.load() + pool[1]->ejections.load(), 1u);
  std::map<const Backend*, int> counts = Spread(balancer, pool, 10);
  EXPECT_EQ(counts[pool[1].get()], 10);
  // Its failures stayed counted: once the other is back, the next one ejects it.
  Fail(balancer, pool, *pool[1], 1, kT0 + 10s);
  EXPECT_TRUE(Balancer::Ejected(*pool[1], kT0 + 10s));
}

TEST(BalancerTest, SmallPercentStillAllowsOneButNeverTheLoneBackend) {
  BackendList pool = MakeBackends(4);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3, /*max_ejected_percent=*/10));
  for (const auto& backend : pool) Fail(balancer, pool, *backend, 3);
  int ejected = 0;
  for (const auto& backend : pool) ejected += Balancer::Ejected(*backend, kT0) ? 1 : 0;
  EXPECT_EQ(ejected, 1);

  BackendList lone = MakeBackends(1);
  Balancer half(Balancing::kLeastRequests, Outlier(3, 50));
  Fail(half, lone, *lone[0], 10);
  EXPECT_FALSE(Balancer::Ejected(*lone[0], kT0));
}

TEST(BalancerTest, ZeroPercentNeverEjects) {
  BackendList pool = MakeBackends(3);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3, /*max_ejected_percent=*/0));
  Fail(balancer, pool, *pool[0], 10);
  EXPECT_FALSE(Balancer::Ejected(*pool[0], kT0));
}

TEST(BalancerTest, OverTheCapEjectionIsIgnored) {
  // Ejections past the cap happen when the pool shrinks (or by a race between two ejectors).
  BackendList pool = MakeBackends(4);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3, /*max_ejected_percent=*/50));
  Fail(balancer, pool, *pool[0], 3);
  Fail(balancer, pool, *pool[1], 3);
  ASSERT_TRUE(Balancer::Ejected(*pool[0], kT0));
  ASSERT_TRUE(Balancer::Ejected(*pool[1], kT0));
  std::map<const Backend*, int> full = Spread(balancer, pool, 100);
  EXPECT_EQ(full.count(pool[0].get()) + full.count(pool[1].get()), 0u);
  BackendList shrunk = {pool[0], pool[1], pool[2]};  // 2 of 3 ejected, cap 1
  std::map<const Backend*, int> counts = Spread(balancer, shrunk, 99);
  for (const auto& backend : shrunk) EXPECT_EQ(counts[backend.get()], 33) << backend->id;
}

TEST(BalancerTest, BackendOutsideThePoolIsNotEjected) {
  BackendList pool = MakeBackends(3);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3));
  auto gone = std::make_shared<Backend>();
  Fail(balancer, pool, *gone, 10);
  EXPECT_FALSE(Balancer::Ejected(*gone, kT0));
  pool[0]->draining = true;
  Fail(balancer, pool, *pool[0], 10);
  EXPECT_FALSE(Balancer::Ejected(*pool[0], kT0));
}

TEST(BalancerTest, DisabledNeverEjectsAndIgnoresOldEjections) {
  BackendList pool = MakeBackends(2);
  Balancer enabled(Balancing::kLeastRequests, Outlier(3));
  Fail(enabled, pool, *pool[0], 3);
  ASSERT_TRUE(Balancer::Ejected(*pool[0], kT0));

  OutlierOptions off = Outlier(3);
  off.enabled = false;
  Balancer disabled(Balancing::kLeastRequests, off);  // a deploy turned it off
  Fail(disabled, pool, *pool[1], 100);
  EXPECT_FALSE(Balancer::Ejected(*pool[1], kT0));
  EXPECT_EQ(pool[1]->consecutive_failures.load(), 0);
  std::map<const Backend*, int> counts = Spread(disabled, pool, 100);
  EXPECT_EQ(counts[pool[0].get()], 50);
}

TEST(BalancerTest, ReplacingTheBalancerKeepsBackendState) {
  BackendList pool = MakeBackends(2);
  {
    Balancer before(Balancing::kLeastRequests, Outlier(3));
    Fail(before, pool, *pool[0], 2);
  }
  Balancer after(Balancing::kRoundRobin, Outlier(3));
  Fail(after, pool, *pool[0], 1);
  EXPECT_TRUE(Balancer::Ejected(*pool[0], kT0));
}

TEST(BalancerTest, ConcurrentFailuresEjectOnce) {
  BackendList pool = MakeBackends(2);
  Balancer balancer(Balancing::kLeastRequests, Outlier(3));
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      Fail(balancer, pool, *pool[0], 1000);
    });
  }
  go = true;
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(pool[0]->ejections.load(), 1u);
  EXPECT_EQ(pool[0]->times_ejected.load(), 1);
}

// 4 threads x 10,000 picks and outcomes on a pool where one backend fails everything and one is
// drained half-way: every lease is returned, and after the drain is seen complete (inflight 0)
// no pick gets the drained backend.
TEST(BalancerTest, ConcurrentPicksAndRecordsLoseNoInflightCount) {
  BackendList pool = MakeBackends(4);
  Balancer balancer(Balancing::kLeastRequests, Outlier(5, 50));
  Backend* const bad = pool[3].get();
  Backend* const drained_backend = pool[0].get();
  constexpr int kThreads = 4;
  constexpr int kIterations = 10'000;
  std::atomic<int> done_iterations{0};
  std::atomic<bool> drained{false};
  std::atomic<int> picked_after_drain{0};
  std::atomic<int> empty_picks{0};

  std::thread controller([&] {
    while (done_iterations.load() < kThreads * kIterations / 2) std::this_thread::yield();
    drained_backend->draining = true;
    while (drained_backend->inflight.load() != 0) std::this_thread::yield();
    drained = true;
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < kThreads; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 random(static_cast<unsigned>(w));
      std::vector<BackendLease> held;  // a few requests in flight at once
      for (int i = 0; i < kIterations; ++i) {
        const Clock::time_point now = kT0 + std::chrono::milliseconds(i);
        const bool was_drained = drained.load();
        BackendLease lease = balancer.Pick(pool, nullptr, now);
        if (!lease) {
          ++empty_picks;
        } else {
          if (was_drained && lease.backend().get() == drained_backend) ++picked_after_drain;
          UpstreamOutcome outcome = lease.backend().get() == bad ? UpstreamOutcome::kConnectError
                                    : random() % 10 == 0         ? UpstreamOutcome::kServerError
                                                                 : UpstreamOutcome::kSuccess;
          balancer.Record(pool, *lease.backend(), outcome, now);
          held.push_back(std::move(lease));
        }
        if (held.size() > random() % 8) held.erase(held.begin());
        ++done_iterations;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  controller.join();

  EXPECT_TRUE(drained.load());
  EXPECT_EQ(picked_after_drain.load(), 0);
  EXPECT_EQ(empty_picks.load(), 0);
  for (const auto& backend : pool) EXPECT_EQ(backend->inflight.load(), 0) << backend->id;
  EXPECT_GE(bad->ejections.load(), 1u);
}

}  // namespace
}  // namespace slipway::proxy
