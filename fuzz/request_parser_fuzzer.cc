// libFuzzer harness for the proxy's request path without sockets, as ClientSession runs it: the
// raw head scan, Beast's request parser (head only) with the proxy's limits, RejectReason, then
// the body: Content-Length bytes skipped, a chunked body decoded by DecodeBody into a small
// buffer. Back-to-back (pipelined) requests in one input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "proxy/body_decoder.h"
#include "proxy/proxy_fields.h"
#include "proxy/request_validation.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::beast::flat_buffer input;
  input.commit(boost::asio::buffer_copy(input.prepare(size), boost::asio::buffer(data, size)));
  char out[37];  // odd and small: chunks straddle it
  for (int requests = 0; requests < 8 && input.size() > 0; ++requests) {
    std::string_view raw(static_cast<const char*>(input.cdata().data()), input.size());
    slipway::proxy::HeadScan scan = slipway::proxy::ScanRequestHead(raw);
    if (scan.state != slipway::proxy::HeadScan::kComplete) return 0;
    if (scan.length == 0 || scan.length > raw.size()) __builtin_trap();  // scan contract
    slipway::proxy::ProxyRequestParser parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(1 << 20);
    boost::beast::error_code ec;
    const std::size_t used = parser.put(input.cdata(), ec);
    if (ec || !parser.is_header_done()) return 0;
    if (used == 0 || used > input.size()) __builtin_trap();
    input.consume(used);
    if (slipway::proxy::RejectReason(parser.get().base())) return 0;
    if (parser.chunked()) {
      for (int steps = 0; steps < 100000 && !parser.is_done(); ++steps) {
        slipway::proxy::DecodeStep step =
            slipway::proxy::DecodeBody(parser, input, out, sizeof out);
        if (step.produced > sizeof out) __builtin_trap();
        if (step.error) return 0;
        if (step.need_input) return 0;  // the input ends inside the body
      }
      if (!parser.is_done()) __builtin_trap();  // no progress: DecodeBody must not spin
    } else if (auto length = parser.content_length()) {
      if (*length > input.size()) return 0;
      input.consume(static_cast<std::size_t>(*length));
    }
  }
  return 0;
}
