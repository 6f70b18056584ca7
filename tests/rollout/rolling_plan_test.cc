#include "rollout/rolling_plan.h"

#include <gtest/gtest.h>

namespace slipway::rollout {
namespace {

// Simulates a whole rollout where every started replica becomes ready one step later, and
// checks the two promises of a rolling deploy at every step.
struct Simulation {
  int steps = 0;
  int min_ready_seen = 1 << 30;
  int max_running_seen = 0;
};

Simulation Simulate(int replicas, int surge, int unavailable, int old_replicas) {
  Simulation sim;
  int old_ready = old_replicas, new_started = 0, new_ready = 0;
  for (; sim.steps < 1000; ++sim.steps) {
    RollingStep s =
        PlanRollingStep({replicas, surge, unavailable, new_started, new_ready, old_ready});
    if (s.done) break;
    old_ready -= s.retire_old;
    new_started += s.start_new;
    sim.min_ready_seen = std::min(sim.min_ready_seen, old_ready + new_ready);
    sim.max_running_seen = std::max(sim.max_running_seen, old_ready + new_started);
    new_ready = new_started;  // the started ones pass their readiness probes
  }
  return sim;
}

TEST(RollingPlan, FirstDeployStartsEveryReplicaAtOnce) {
  RollingStep s = PlanRollingStep({3, 1, 0, 0, 0, 0});
  EXPECT_EQ(s.start_new, 3);
  EXPECT_EQ(s.retire_old, 0);
  EXPECT_FALSE(s.done);
}

TEST(RollingPlan, SurgeOneKeepsEveryOldReplicaUntilANewOneIsReady) {
  RollingStep s = PlanRollingStep({3, 1, 0, 0, 0, 3});
  EXPECT_EQ(s.retire_old, 0);
  EXPECT_EQ(s.start_new, 1);
  s = PlanRollingStep({3, 1, 0, 1, 0, 3});  // the new one is not ready yet
  EXPECT_EQ(s.retire_old, 0);
  EXPECT_EQ(s.start_new, 0);
  s = PlanRollingStep({3, 1, 0, 1, 1, 3});  // now it is: one old goes, one more new starts
  EXPECT_EQ(s.retire_old, 1);
  EXPECT_EQ(s.start_new, 1);
}

TEST(RollingPlan, UnavailableOneReplacesWithoutSurge) {
  RollingStep s = PlanRollingStep({3, 0, 1, 0, 0, 3});
  EXPECT_EQ(s.retire_old, 1);
  EXPECT_EQ(s.start_new, 1);
}

TEST(RollingPlan, NeverBelowMinimumNorAboveSurgeForAnyShape) {
  for (int replicas = 1; replicas <= 6; ++replicas) {
    for (int surge = 0; surge <= 3; ++surge) {
      for (int unavailable = 0; unavailable <= 3; ++unavailable) {
        if (surge + unavailable == 0) continue;  // the spec refuses this
        for (int old = 0; old <= 6; ++old) {
          Simulation sim = Simulate(replicas, surge, unavailable, old);
          SCOPED_TRACE(testing::Message() << replicas << " replicas, surge " << surge
                                          << ", unavailable " << unavailable << ", old " << old);
          ASSERT_LT(sim.steps, 1000) << "the rollout never finished";
          EXPECT_LE(sim.max_running_seen, std::max(old, replicas + surge));
          if (old >= replicas) {
            EXPECT_GE(sim.min_ready_seen, replicas - unavailable);
          }
        }
      }
    }
  }
}

TEST(RollingPlan, DoneOnlyWhenNewIsReadyAndOldIsGone) {
  EXPECT_TRUE(PlanRollingStep({2, 1, 0, 2, 2, 0}).done);
  EXPECT_FALSE(PlanRollingStep({2, 1, 0, 2, 1, 0}).done);
  EXPECT_FALSE(PlanRollingStep({2, 1, 0, 2, 2, 1}).done);
}

}  // namespace
}  // namespace slipway::rollout
