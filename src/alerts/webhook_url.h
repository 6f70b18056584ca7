// WebhookUrl: where a receiver's notifications are POSTed, parsed from `http://host[:port]/path`.
// Plain HTTP only in this slice (docs/alerts.md says why); the spec checks receivers with the
// same parser the sender uses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace slipway::alerts {

struct WebhookUrl {
  std::string host;          // a name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = 80;   //
  std::string target = "/";  // path and query, as sent in the request line
  std::string host_header;   // "host:port" as the Host header carries it
};

// An error says what is wrong with `url`, for a message about the receiver.
Result<WebhookUrl> ParseWebhookUrl(std::string_view url);

}  // namespace slipway::alerts
