#include "alerts/webhook_url.h"

#include <algorithm>
#include <charconv>

namespace slipway::alerts {

Result<WebhookUrl> ParseWebhookUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.starts_with("https://")) {
    return Error{
        "https receivers are not supported yet; use http:// (for example a local "
        "relay)"};
  }
  if (!url.starts_with(kScheme)) return Error{"expected an http:// URL"};
  std::string_view rest = url.substr(kScheme.size());
  const std::size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "/" : rest.substr(slash);
  if (target.find('#') != std::string_view::npos) {
    return Error{"a fragment (#...) is never sent; remove it"};
  }
  if (authority.find('@') != std::string_view::npos) {
    return Error{"user:password@ in the URL is not supported"};
  }
  WebhookUrl out;
  std::string_view port_text;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error{"an IPv6 host needs its closing ]"};
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Error{"expected :PORT after the IPv6 host"};
      port_text = after.substr(1);
      if (port_text.empty()) return Error{"empty port after ':'"};
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return Error{"empty port after ':'"};
    }
  }
  if (out.host.empty()) return Error{"the URL has no host"};
  const bool host_ok = std::all_of(out.host.begin(), out.host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == ':' || c == '_';
  });
  if (!host_ok) return Error{"\"" + out.host + "\" is not a host name or address"};
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return Error{"port \"" + std::string(port_text) + "\" is not in 1..65535"};
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  const bool target_ok =
      std::all_of(target.begin(), target.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (!target_ok) return Error{"the path must be printable ASCII without spaces (percent-encode)"};
  out.target = target.starts_with("?") ? "/" + std::string(target) : std::string(target);
  const bool v6 = out.host.find(':') != std::string::npos;
  out.host_header = (v6 ? "[" + out.host + "]" : out.host) +
                    (port_text.empty() ? "" : ":" + std::to_string(out.port));
  return out;
}

}  // namespace slipway::alerts
