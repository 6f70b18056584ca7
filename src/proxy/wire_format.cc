#include "proxy/wire_format.h"

#include <charconv>

namespace slipway::proxy {

namespace http = boost::beast::http;

namespace {

void AppendFields(const ProxyFields& fields, std::string& out) {
  for (const auto& field : fields) {
    out.append(field.name_string());
    out.append(": ");
    out.append(field.value());
    out.append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace

void AppendRequestHead(const ProxyRequestHead& head, std::string& out) {
  out.append(head.method_string());
  out.push_back(' ');
  out.append(head.target());
  out.append(" HTTP/1.1\r\n");
  AppendFields(head, out);
}

void AppendResponseHead(const ProxyResponseHead& head, std::string& out) {
  char status[4];
  const unsigned code = head.result_int() % 1000;
  status[0] = static_cast<char>('0' + code / 100);
  status[1] = static_cast<char>('0' + code / 10 % 10);
  status[2] = static_cast<char>('0' + code % 10);
  status[3] = ' ';
  out.append("HTTP/1.1 ");
  out.append(status, sizeof status);
  std::string_view reason = head.reason();
  if (reason.empty()) reason = http::obsolete_reason(head.result());
  out.append(reason);
  out.append("\r\n");
  AppendFields(head, out);
}

std::size_t FormatChunkSize(std::size_t size, char* out) {
  auto [end, ec] = std::to_chars(out, out + 16, size, 16);
  (void)ec;  // 16 hex digits hold any size_t
  end[0] = '\r';
  end[1] = '\n';
  return static_cast<std::size_t>(end - out) + 2;
}

}  // namespace slipway::proxy
