// What the proxy refuses before forwarding, beyond what the HTTP parser rejects: the ambiguities
// request smuggling lives on (RFC 9112 section 6.3 and 11.2) and malformed heads the parser
// would quietly repair. Pure functions, so they are unit-tested and fuzzed without sockets.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "proxy/proxy_fields.h"

namespace slipway::proxy {

// The raw bytes of a request head, before parsing. The parser unfolds obs-fold lines into
// spaces, so they can only be seen here.
struct HeadScan {
  enum State { kIncomplete, kComplete, kBad };
  State state = kIncomplete;
  std::size_t length = 0;        // kComplete: bytes up to and including the empty line
  const char* reason = nullptr;  // kBad: why
};

// Scans `data` from its start up to the end of the first request head. Bad: a bare CR or LF, a
// NUL byte, or a folded (obs-fold) header line. Leading empty lines are allowed (RFC 9112 2.2).
HeadScan ScanRequestHead(std::string_view data);

// Why a parsed request head must be refused with 400, or nullopt when it may be forwarded.
// Refused: HTTP versions other than 1.0/1.1, CONNECT, targets not in origin form ("/..."; "*"
// only for OPTIONS), a missing (HTTP/1.1) or repeated Host, a Host with characters no authority
// has, more than one or a non-decimal Content-Length, a Transfer-Encoding other than exactly
// "chunked" (or given twice), and Content-Length together with Transfer-Encoding.
std::optional<std::string_view> RejectReason(const ProxyRequestHead& head);

}  // namespace slipway::proxy
