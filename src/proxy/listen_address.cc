#include "proxy/listen_address.h"

#include <charconv>

#include <boost/asio/ip/address.hpp>

namespace slipway::proxy {

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return Error{"listen " + std::string(text) + ": " + why};
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail("expected [ipv6]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("expected host:port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return fail("write IPv6 addresses as [addr]:port");
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return fail("bad port \"" + std::string(port) + "\"");
  }
  ListenAddress address;
  address.port = static_cast<std::uint16_t>(value);
  if (host == "localhost") {
    address.host = "127.0.0.1";
    return address;
  }
  boost::system::error_code bad;
  auto ip = boost::asio::ip::make_address(std::string(host), bad);
  if (bad) return fail("bad IP address \"" + std::string(host) + "\"");
  address.host = ip.to_string();
  return address;
}

std::string FormatHostPort(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace slipway::proxy
