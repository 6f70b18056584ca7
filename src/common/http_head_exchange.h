// The HTTP/1.1 client step that the health probes and the webhook poster share: on a connected
// Beast stream, send one request and read the answer's head (not its body), within the stream's
// deadline, then shut the connection down; and a one-line description of a failed step.
//
// A separate library (slipway_common_http) so that slipway_common itself does not pull Asio.
#pragma once

#include <string>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "common/duration.h"

namespace slipway {

// Completion token of the coroutines that take errors as values: auto [ec, n] = co_await ...
inline constexpr auto kUseTuple = boost::asio::as_tuple(boost::asio::use_awaitable);

// "connect: Connection refused", or "timeout after 1s" when `ec` is Beast's timeout (the
// stream's deadline, `timeout` long, ran out).
std::string DescribeStepFailure(const boost::system::error_code& ec, const char* step,
                                Millis timeout);

struct HeadAnswer {
  boost::system::error_code ec;  // set when a step failed
  const char* step = "";         // the step that failed: the caller's write name, or "read"
  unsigned status = 0;           // the answer's status code, when ec is unset
};

// Writes `request` on `*stream` (connected, its deadline set), reads the answer's head and shuts
// the connection down. `write_step` names the write step in a failure ("send", "write").
// `*stream` must stay alive until the returned awaitable completes.
template <typename Body>
boost::asio::awaitable<HeadAnswer> ExchangeHead(boost::beast::tcp_stream* stream,
                                                boost::beast::http::request<Body> request,
                                                const char* write_step) {
  namespace http = boost::beast::http;
  auto [write_ec, written] = co_await http::async_write(*stream, request, kUseTuple);
  if (write_ec) co_return HeadAnswer{write_ec, write_step, 0};
  boost::beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  auto [read_ec, read] = co_await http::async_read_header(*stream, buffer, parser, kUseTuple);
  if (read_ec) co_return HeadAnswer{read_ec, "read", 0};
  boost::system::error_code ignored;
  stream->socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  co_return HeadAnswer{{}, "", parser.get().result_int()};
}

}  // namespace slipway
