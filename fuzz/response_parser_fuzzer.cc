// libFuzzer harness for the proxy's upstream-response path without sockets: Beast's response
// parser (head only, the proxy's header limit), then the body decoded by DecodeBody as
// body_relay.cc does, with the input arriving in pieces and the output buffer sized by the
// input's first two bytes. A hostile or broken backend must never crash the proxy.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "proxy/body_decoder.h"
#include "proxy/proxy_fields.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t piece = 1 + data[0] % 64;      // bytes per simulated read
  const std::size_t capacity = 1 + data[1] % 128;  // the relay buffer
  data += 2;
  size -= 2;
  slipway::proxy::ProxyResponseParser parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(boost::none);
  boost::beast::flat_buffer input;
  std::size_t fed = 0;
  auto feed = [&] {
    const std::size_t n = std::min(piece, size - fed);
    input.commit(boost::asio::buffer_copy(input.prepare(n), boost::asio::buffer(data + fed, n)));
    fed += n;
    return n > 0;
  };
  // Head: fed piece by piece, as async_read_header would.
  while (!parser.is_header_done()) {
    boost::beast::error_code ec;
    const std::size_t used = parser.put(input.cdata(), ec);
    input.consume(used);
    if (ec == http::error::need_more) {
      if (!feed()) return 0;
      continue;
    }
    if (ec) return 0;
  }
  char out[128];
  std::uint64_t decoded = 0;
  for (int steps = 0; steps < 1000000 && !parser.is_done(); ++steps) {
    slipway::proxy::DecodeStep step = slipway::proxy::DecodeBody(parser, input, out, capacity);
    if (step.produced > capacity) __builtin_trap();
    decoded += step.produced;
    if (step.error) return 0;
    if (step.need_input && !feed()) return 0;  // the backend closed mid-body
  }
  // A length-delimited body decodes to exactly its length (1xx, 204 and 304 have none).
  const unsigned status = parser.get().result_int();
  const bool bodiless = status / 100 == 1 || status == 204 || status == 304;
  if (auto length = parser.content_length();
      length && !bodiless && parser.is_done() && !parser.chunked() && decoded != *length) {
    __builtin_trap();
  }
  return 0;
}
