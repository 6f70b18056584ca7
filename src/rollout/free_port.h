// Picks a free TCP port on 127.0.0.1 for a replica's $PORT.
#pragma once

#include <cstdint>

#include "common/result.h"

namespace slipway::rollout {

// Binds 127.0.0.1:0, reads the port the kernel chose, and closes the socket. Another process
// could take the port before the replica binds it; the replica then fails to start and is
// restarted by the runtime (with the same port), which the readiness gate absorbs.
Result<std::uint16_t> PickFreePort();

}  // namespace slipway::rollout
