// Identifiers: request IDs for the proxy and the logs.
#pragma once

#include <string>
#include <string_view>

namespace slipway {

// A new random request ID: 32 lowercase hex characters (128 bits). Thread-safe, no locks.
std::string NewRequestId();

// True when an incoming X-Request-ID can be kept: 1..128 chars of [A-Za-z0-9._:-].
bool IsValidRequestId(std::string_view id);

}  // namespace slipway
