#include "proxy/header_rules.h"

#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include "common/ids.h"

namespace slipway::proxy {

namespace http = boost::beast::http;

void RemoveHopByHopHeaders(ProxyFields& fields) {
  thread_local std::vector<std::string> named;  // reused: no allocation per message
  named.clear();
  auto [first, last] = fields.equal_range(http::field::connection);
  for (auto it = first; it != last; ++it) {
    for (auto token : http::token_list(it->value())) {
      // The common options name no header: nothing to remove for them.
      if (boost::beast::iequals(token, "keep-alive") || boost::beast::iequals(token, "close")) {
        continue;
      }
      named.emplace_back(token);
    }
  }
  for (const std::string& name : named) fields.erase(name);
  fields.erase(http::field::connection);
  fields.erase(http::field::keep_alive);
  fields.erase(http::field::proxy_connection);
  fields.erase(http::field::te);
  fields.erase(http::field::trailer);
  fields.erase(http::field::upgrade);
}

std::string AssignRequestId(ProxyFields& fields) {
  auto incoming = fields.find("X-Request-ID");
  if (incoming != fields.end() && IsValidRequestId(incoming->value()) &&
      fields.count("X-Request-ID") == 1) {
    return std::string(incoming->value());
  }
  std::string id = NewRequestId();
  fields.set("X-Request-ID", id);
  return id;
}

void SetForwardedHeaders(ProxyFields& fields, std::string_view client_ip, std::string_view proto) {
  // Built in per-thread scratch strings: the fields copy the value, so no allocation per request.
  thread_local std::string forwarded_for, forwarded;
  forwarded_for.clear();
  forwarded.clear();
  auto [first, last] = fields.equal_range("X-Forwarded-For");
  for (auto it = first; it != last; ++it) {
    if (!forwarded_for.empty()) forwarded_for += ", ";
    forwarded_for += it->value();
  }
  if (!forwarded_for.empty()) forwarded_for += ", ";
  forwarded_for += client_ip;
  fields.set("X-Forwarded-For", forwarded_for);
  fields.set("X-Forwarded-Proto", proto);

  auto [ffirst, flast] = fields.equal_range(http::field::forwarded);
  for (auto it = ffirst; it != flast; ++it) {
    if (!forwarded.empty()) forwarded += ", ";
    forwarded += it->value();
  }
  if (!forwarded.empty()) forwarded += ", ";
  const bool v6 = client_ip.find(':') != std::string_view::npos;
  forwarded += v6 ? "for=\"[" : "for=";
  forwarded += client_ip;
  forwarded += v6 ? "]\";proto=" : ";proto=";
  forwarded += proto;

  auto host = fields.find(http::field::host);
  if (host != fields.end()) {
    fields.set("X-Forwarded-Host", host->value());
    forwarded += ";host=\"";
    forwarded += host->value();  // validated: no quotes or controls (RejectReason)
    forwarded += '"';
  } else {
    fields.erase("X-Forwarded-Host");
  }
  fields.set(http::field::forwarded, forwarded);
}

std::string HttpsLocation(std::string_view host, std::uint16_t https_port,
                          std::string_view target) {
  // Drop the plain port of "name:80" or "[::1]:80"; keep a bare IPv6 literal whole.
  const std::size_t colon = host.rfind(':');
  const std::size_t bracket = host.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = host.substr(0, colon);
  }
  std::string location = "https://";
  location += host.empty() ? std::string_view("localhost") : host;
  if (https_port != 443) location += ":" + std::to_string(https_port);
  location += target;
  return location;
}

void AppendVia(ProxyFields& fields, unsigned version) {
  thread_local std::string via;  // see SetForwardedHeaders
  via.clear();
  auto [first, last] = fields.equal_range(http::field::via);
  for (auto it = first; it != last; ++it) {
    if (!via.empty()) via += ", ";
    via += it->value();
  }
  if (!via.empty()) via += ", ";
  via += static_cast<char>('0' + version / 10 % 10);
  via += '.';
  via += static_cast<char>('0' + version % 10);
  via += " slipway";
  fields.set(http::field::via, via);
}

void RemoveHeaders(ProxyFields& fields, const std::vector<std::string>& names) {
  for (const std::string& name : names) fields.erase(name);
}

void SetSecurityHeaders(ProxyFields& fields, const SecurityHeaderOptions& options) {
  if (!options.enabled) return;
  auto set = [&](std::string_view name, const std::string& value) {
    if (value.empty()) return;
    if (options.override || fields.find(name) == fields.end()) fields.set(name, value);
  };
  set("X-Content-Type-Options", options.content_type_options);
  set("X-Frame-Options", options.frame_options);
  set("Referrer-Policy", options.referrer_policy);
  set("Content-Security-Policy", options.content_security_policy);
}

}  // namespace slipway::proxy
