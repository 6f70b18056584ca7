#include "rollout/rolling_plan.h"

#include <algorithm>
#include <cmath>

namespace slipway::rollout {

RollingStep PlanRollingStep(const RollingInputs& in) {
  RollingStep step;
  const int min_available = in.replicas - in.max_unavailable;
  // Old replicas may go while the ready ones left still cover the minimum.
  int old_left = in.old_ready;
  while (old_left > 0 && in.new_ready + old_left - 1 >= min_available) {
    --old_left;
    ++step.retire_old;
  }
  // New replicas may start while the running total stays within the surge.
  int started = in.new_started;
  while (started < in.replicas && old_left + started < in.replicas + in.max_surge) {
    ++started;
    ++step.start_new;
  }
  step.done = in.new_ready >= in.replicas && in.old_ready == 0;
  return step;
}

int CanaryReplicasFor(int replicas, int weight) {
  return std::max(1, static_cast<int>(std::ceil(replicas * weight / 100.0)));
}

}  // namespace slipway::rollout
