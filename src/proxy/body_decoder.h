// DecodeBody: one step of decoding a message body with Beast's parser into a caller's buffer,
// without sockets, so the request and response paths share it and the fuzzer drives it.
// Internal to the proxy module.
#pragma once

#include <cstddef>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

namespace slipway::proxy {

struct DecodeStep {
  std::size_t produced = 0;         // body bytes now at the start of the output buffer
  bool need_input = false;          // `input` is used up: read more into it, then call again
  boost::system::error_code error;  // a malformed body (or over the parser's body limit)
};

// Feeds `input` to `parser` (its head already parsed) until `capacity` body bytes are in `out`,
// the body ends (parser.is_done()), or `input` runs out. Consumed bytes leave `input`.
template <bool isRequest, class Allocator>
DecodeStep DecodeBody(
    boost::beast::http::parser<isRequest, boost::beast::http::buffer_body, Allocator>& parser,
    boost::beast::flat_buffer& input, char* out, std::size_t capacity) {
  namespace http = boost::beast::http;
  auto& body = parser.get().body();
  body.data = out;
  body.size = capacity;
  DecodeStep step;
  while (!parser.is_done() && body.size > 0) {
    if (input.size() == 0) {
      step.need_input = true;
      break;
    }
    boost::system::error_code ec;
    const std::size_t used = parser.put(input.cdata(), ec);
    input.consume(used);
    if (ec == http::error::need_buffer) break;  // `out` is full
    if (ec == http::error::need_more) {
      step.need_input = true;
      break;
    }
    if (ec) {
      step.error = ec;
      break;
    }
  }
  step.produced = capacity - body.size;
  body.data = nullptr;  // the parser must never write to `out` once the caller reuses it
  body.size = 0;
  return step;
}

}  // namespace slipway::proxy
