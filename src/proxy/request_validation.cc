#include "proxy/request_validation.h"

#include <algorithm>
#include <cctype>

namespace slipway::proxy {

namespace http = boost::beast::http;

HeadScan ScanRequestHead(std::string_view data) {
  std::size_t i = 0;
  // Tolerate empty lines before the request line, as RFC 9112 allows.
  while (i + 1 < data.size() && data[i] == '\r' && data[i + 1] == '\n') i += 2;
  bool line_start = true;
  bool first_line = true;
  for (; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\0') return {HeadScan::kBad, 0, "NUL byte in the request head"};
    if (c == '\n') return {HeadScan::kBad, 0, "bare LF in the request head"};
    if (c == '\r') {
      if (i + 1 == data.size()) return {};  // the LF may still come
      if (data[i + 1] != '\n') return {HeadScan::kBad, 0, "bare CR in the request head"};
      if (line_start && !first_line) return {HeadScan::kComplete, i + 2, nullptr};
      ++i;  // past the LF
      line_start = true;
      first_line = false;
      continue;
    }
    if (line_start && !first_line && (c == ' ' || c == '\t')) {
      return {HeadScan::kBad, 0, "folded header line (obs-fold)"};
    }
    line_start = false;
  }
  return {};
}

namespace {

bool IsDecimal(std::string_view v) {
  return !v.empty() && v.size() <= 18 &&
         std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsAuthorityChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
         c == ':' || c == '[' || c == ']' || c == '~' || c == '%';
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<std::string_view> RejectReason(const ProxyRequestHead& head) {
  if (head.version() != 10 && head.version() != 11) return "unsupported HTTP version";
  if (head.method() == http::verb::connect) return "CONNECT is not supported";
  std::string_view target = head.target();
  if (target == "*") {
    if (head.method() != http::verb::options) return "\"*\" is only a target for OPTIONS";
  } else if (target.empty() || target.front() != '/') {
    return "the request target must be a path (origin form)";
  }

  int hosts = 0, lengths = 0, encodings = 0;
  std::string_view host, length, encoding;
  for (const auto& field : head) {
    switch (field.name()) {
      case http::field::host:
        ++hosts;
        host = field.value();
        break;
      case http::field::content_length:
        ++lengths;
        length = field.value();
        break;
      case http::field::transfer_encoding:
        ++encodings;
        encoding = field.value();
        break;
      default:
        break;
    }
  }
  if (hosts > 1) return "more than one Host header";
  if (hosts == 0 && head.version() == 11) return "HTTP/1.1 request without a Host header";
  if (!std::all_of(host.begin(), host.end(), IsAuthorityChar)) return "malformed Host header";
  if (lengths > 1) return "more than one Content-Length header";
  if (lengths == 1 && !IsDecimal(length)) return "Content-Length is not a decimal number";
  if (encodings > 1) return "more than one Transfer-Encoding header";
  if (encodings == 1 && !EqualsNoCase(encoding, "chunked")) {
    return "unsupported Transfer-Encoding (only \"chunked\" is accepted)";
  }
  if (lengths > 0 && encodings > 0) return "both Content-Length and Transfer-Encoding";
  return std::nullopt;
}

}  // namespace slipway::proxy
