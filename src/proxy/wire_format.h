// The bytes the proxy writes for a message head and for chunked framing. Pure functions over
// Beast's parsed heads, so the framing is unit-tested without sockets. Internal to the proxy.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "proxy/proxy_fields.h"

namespace slipway::proxy {

// "METHOD target HTTP/1.1\r\n", every field as "Name: value\r\n", "\r\n"; appended to `out`.
// The upstream side always speaks HTTP/1.1.
void AppendRequestHead(const ProxyRequestHead& head, std::string& out);
// "HTTP/1.1 NNN reason\r\n", fields, "\r\n". An empty reason becomes the standard one.
void AppendResponseHead(const ProxyResponseHead& head, std::string& out);

// A chunk's size line ("1a2b\r\n") written into `out` (at least 18 bytes); returns its length.
std::size_t FormatChunkSize(std::size_t size, char* out);
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace slipway::proxy
