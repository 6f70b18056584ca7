// ListenAddress: the parsed form of a listener's "host:port" or "[v6]:port".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace slipway::proxy {

struct ListenAddress {
  std::string host;  // an IP literal, without brackets ("127.0.0.1", "::1", "0.0.0.0")
  std::uint16_t port = 0;
};

// "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80", "localhost:8080" (= 127.0.0.1). Port 0 is
// allowed (the kernel picks one). The error message is "listen <text>: <why>".
Result<ListenAddress> ParseListenAddress(std::string_view text);

// "127.0.0.1:8080" or "[::1]:8080".
std::string FormatHostPort(const std::string& host, std::uint16_t port);

}  // namespace slipway::proxy
