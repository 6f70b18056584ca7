// libFuzzer harness for the proxy's request-head path: the raw scan, Beast's request parser with
// the proxy's limits, and RejectReason, over back-to-back (pipelined) requests in one input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "proxy/request_validation.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (int requests = 0; requests < 8 && !input.empty(); ++requests) {
    slipway::proxy::HeadScan scan = slipway::proxy::ScanRequestHead(input);
    if (scan.state != slipway::proxy::HeadScan::kComplete) return 0;
    if (scan.length == 0 || scan.length > input.size()) __builtin_trap();  // scan contract
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(1 << 20);
    parser.eager(true);
    boost::beast::error_code ec;
    std::size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
    if (ec && ec != http::error::need_more) return 0;
    if (!parser.is_header_done()) return 0;
    (void)slipway::proxy::RejectReason(parser.get().base());
    if (!parser.is_done()) return 0;
    if (used == 0 || used > input.size()) __builtin_trap();
    input.remove_prefix(used);
  }
  return 0;
}
