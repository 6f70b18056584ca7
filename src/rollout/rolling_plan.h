// The arithmetic of one rolling step, apart from processes and timers so it can be tested
// exhaustively: how many ready old replicas may leave the pool and how many new ones may start,
// keeping at least `replicas - max_unavailable` ready and at most `replicas + max_surge` running.
#pragma once

namespace slipway::rollout {

struct RollingInputs {
  int replicas = 1;  // wanted replicas of the new release
  int max_surge = 1;
  int max_unavailable = 0;
  int new_started = 0;  // replicas of the new release that exist (ready or not)
  int new_ready = 0;    // of those, ready
  int old_ready = 0;    // ready replicas of other releases still in the pool
};

struct RollingStep {
  int retire_old = 0;  // ready old replicas to drain and stop now
  int start_new = 0;   // new replicas to start now
  bool done = false;   // the new release is fully ready and no old replica serves
};

RollingStep PlanRollingStep(const RollingInputs& in);

// Replicas of a canary at `weight` percent: its share of the wanted count, at least one.
int CanaryReplicasFor(int replicas, int weight);

}  // namespace slipway::rollout
