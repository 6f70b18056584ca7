// Header rules applied to every proxied request and response. Internal to the proxy module.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>

namespace slipway::proxy {

// Removes Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade and every header named
// in Connection.
void RemoveHopByHopHeaders(boost::beast::http::fields& fields);

// Keeps a valid incoming X-Request-ID, else sets a new one; returns the ID in use.
std::string AssignRequestId(boost::beast::http::fields& fields);

// X-Forwarded-For (the client IP appended to any incoming value), X-Forwarded-Proto: http,
// X-Forwarded-Host (the incoming Host, when there is one).
void SetForwardedHeaders(boost::beast::http::fields& fields, std::string_view client_ip);

}  // namespace slipway::proxy
