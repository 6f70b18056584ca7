// RolloutOutline: what a deploy of a spec will do, step by step, told before it runs (`slipway
// plan`, docs/cli.md#plan). The same decisions as AppController::Roll: a first deploy (nothing
// serves) always rolls; canary and blue-green need a serving release. Rolling batches come from
// PlanRollingStep, canary replica counts from CanaryReplicasFor, assuming every new replica
// becomes ready. Pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spec/app_spec.h"

namespace slipway::rollout {

struct RolloutOutline {
  std::string strategy;            // "rolling", "blue-green", "canary" (what runs, not the spec's)
  std::string summary;             // one line: "rolling: 3 replica(s), max surge 1, ..."
  std::vector<std::string> steps;  // "batch 1: start 1 new", "weight 20%: 1 canary replica(s)"
  int started = 0;                 // new replicas started
  int stopped = 0;                 // replicas of the serving release stopped
};

// `serving_replicas`: the serving release's replica count; nullopt when nothing serves.
RolloutOutline OutlineRollout(const spec::AppSpec& next, std::optional<int> serving_replicas);

}  // namespace slipway::rollout
