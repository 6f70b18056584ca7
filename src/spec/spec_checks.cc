#include "spec/spec_checks.h"

#include <arpa/inet.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "common/duration.h"
#include "spec/did_you_mean.h"
#include "spec/yaml_reader.h"

namespace slipway::spec {

std::optional<double> ParseFraction(const std::string& text) {
  std::string number = text;
  double scale = 1;
  if (!number.empty() && number.back() == '%') {
    number.pop_back();
    scale = 0.01;
  }
  if (number.empty()) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value)) return std::nullopt;
  value *= scale;
  if (value < 0 || value > 1) return std::nullopt;
  return value;
}

bool IsHeaderName(std::string_view name) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              kSymbols.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool IsHeaderValue(std::string_view value) {
  for (char c : value) {
    if (!((c >= 0x20 && c < 0x7f) || c == '\t')) return false;
  }
  return value.empty() || (value.front() != ' ' && value.front() != '\t' && value.back() != ' ' &&
                           value.back() != '\t');
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string ListenProblem(const std::string& listen) {
  const std::string shape_problem =
      Quoted(listen) + " is not host:port (examples: 127.0.0.1:8080, [::1]:8080, localhost:8080)";
  std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return shape_problem;
  std::string host = listen.substr(0, colon);
  std::string port = listen.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return shape_problem;
    std::string v6 = host.substr(1, host.size() - 2);
    in6_addr addr;
    if (inet_pton(AF_INET6, v6.c_str(), &addr) != 1) {
      return Quoted(v6) + " is not an IPv6 address";
    }
  } else if (!IsHostName(host)) {
    return shape_problem;  // includes a bare IPv6 address, whose colons make the port ambiguous
  }
  auto number = ParseInteger(port);
  bool digits_only = !port.empty() && port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits_only) return shape_problem;
  if (!number || *number < 1 || *number > 65535) {
    return "port " + port + " is out of range (1..65535)";
  }
  return {};
}

std::string DurationNote(std::chrono::milliseconds value, bool written) {
  return "(" + FormatDuration(value) + (written ? ")" : ", the default)");
}

std::string UnknownName(std::string_view what, const std::string& value,
                        std::span<const std::string_view> supported, std::string_view lookup) {
  std::string message = "unknown " + std::string(what) + " " + Quoted(value);
  if (auto suggestion = DidYouMean(lookup.empty() ? value : lookup, supported)) {
    return message + "; did you mean " + Quoted(*suggestion) + "?";
  }
  return message + "; supported: " + JoinNames(supported);
}

}  // namespace slipway::spec
