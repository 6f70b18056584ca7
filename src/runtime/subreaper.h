// Makes the daemon the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER), so a
// replica's grandchildren that outlive their parent are re-parented to Slipway, stay visible,
// and are reaped by the runtime's child reaper instead of escaping to init.
#pragma once

namespace slipway::runtime {

// Call once at daemon start-up, before any replica starts. Logs a warning if the kernel refuses.
void BecomeSubreaper();

}  // namespace slipway::runtime
