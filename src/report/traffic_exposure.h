// Whether (and since when) a release that did not succeed served production traffic, read from
// its events. A failed or aborted release that never served (its replicas failed their health
// checks, an analysis stopped it at 0%, a blue-green set aborted in its preview) affected no user:
// the report counts it against the deploy success rate only, not as a change failure.
// Pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "state/release_store.h"

namespace slipway::report {

// The `at` of the first event of `release` (events of other releases are skipped) that shows it
// took production traffic, or nullopt:
// - a canary or blue-green rollout (it has a "rollout.started" event): "rollout.weight" to more
//   than 0% (canary), or "rollout.promoted" (blue-green: all traffic on the new set). Requests
//   routed by the canary header are opt-in test traffic and do not count;
// - a rolling deploy: the first "replica.ready" of one of its own replicas ("<app>-r<N>-<i>"),
//   which joins the pool beside the old replicas at once.
// Depends on the wording of those events (progressive_rollout.cc, replica_unit.cc); the report
// tests pin it.
std::optional<std::string> FirstProductionTraffic(const state::Release& release,
                                                  const std::vector<state::Event>& events);

}  // namespace slipway::report
