// Header rules applied to every proxied request and response. Internal to the proxy module.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/proxy_fields.h"

#include "proxy/proxy_server.h"

namespace slipway::proxy {

// Removes Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade and every header named
// in Connection.
void RemoveHopByHopHeaders(ProxyFields& fields);

// Keeps a valid incoming X-Request-ID, else sets a new one; returns the ID in use.
std::string AssignRequestId(ProxyFields& fields);

// X-Forwarded-For (the client IP appended to any incoming value), X-Forwarded-Proto (`proto`:
// "http" or "https"), X-Forwarded-Host (the incoming Host, when there is one), and the RFC 7239
// Forwarded header with this hop appended ("for=...;proto=...;host=..."; IPv6 quoted).
void SetForwardedHeaders(ProxyFields& fields, std::string_view client_ip,
                         std::string_view proto = "http");

// The https:// URL a plain-HTTP request for `target` at `host` (its Host header, maybe with a
// port) is redirected to; `https_port` 443 is left out.
std::string HttpsLocation(std::string_view host, std::uint16_t https_port, std::string_view target);

// Appends "<version> slipway" (e.g. "1.1 slipway") to Via, after any incoming value (RFC 9110
// 7.6.3); `version` is the HTTP version of the message as received, 11 for HTTP/1.1.
void AppendVia(ProxyFields& fields, unsigned version);

// Removes every header named in `names` (case-insensitive).
void RemoveHeaders(ProxyFields& fields, const std::vector<std::string>& names);

// Sets the security headers of `options` (nothing when disabled): each only when absent, or
// replacing any value when `options.override`.
void SetSecurityHeaders(ProxyFields& fields, const SecurityHeaderOptions& options);

}  // namespace slipway::proxy
