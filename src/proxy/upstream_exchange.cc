// The upstream side of the request path: connection from the pool or a new one, one HTTP/1.1
// round trip, and the retry rules.
//
// Retries (never more than one of each kind per request):
//  - connect to the picked backend fails: nothing was sent, so any request (POST included)
//    goes to another backend once; with none left, 502.
//  - a reused pooled connection fails before any response byte (the backend closed it while
//    idle): idempotent methods are sent again on a fresh connection to the same backend; the
//    backend's other idle connections are dropped.
//  - a fresh connection fails before any response byte (the replica died mid-request):
//    idempotent methods go to another backend.
//  - a timeout waiting for the response is never retried: 504.
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "common/log.h"
#include "proxy/client_session.h"

namespace slipway::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kUpstreamHeaderLimit = 64 * 1024;

bool IsIdempotent(http::verb method) {
  switch (method) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::trace:
      return true;
    default:
      return false;
  }
}

}  // namespace

asio::awaitable<ClientSession::Exchange> ClientSession::ExchangeWithUpstream(BackendLease lease) {
  const bool idempotent = IsIdempotent(request_.method());
  bool tried_other_backend = false;
  bool fresh_only = false;
  for (;;) {
    std::unique_ptr<UpstreamConnection> connection;
    bool reused = false;
    // The pool is per thread: look it up now, never across a co_await.
    if (UpstreamPool* pool = UpstreamPool::Current(); pool && !fresh_only) {
      connection = pool->Take(lease.backend());
      reused = connection != nullptr;
    }
    if (!connection) {
      connection = std::make_unique<UpstreamConnection>(listener_->io_executor);
      error_code ec = co_await Connect(*connection, *lease.backend());
      if (ec) {
        log::Warn("upstream connect failed", {{"app", listener_->app},
                                              {"backend", lease->id},
                                              {"request_id", request_id_},
                                              {"error", ec.message()}});
        if (!tried_other_backend) {
          tried_other_backend = true;
          if (BackendLease other = listener_->PickBackend(lease.backend().get())) {
            lease = std::move(other);
            fresh_only = false;
            continue;
          }
        }
        upstream_ = lease.backend();
        co_return Exchange::kUnavailable;
      }
    }

    upstream_ = lease.backend();  // the access log names the backend actually tried last
    lease->requests.fetch_add(1, std::memory_order_relaxed);
    RoundTrip trip = co_await SendAndReceive(*connection);
    if (!trip.error) {
      UpstreamPool* pool = UpstreamPool::Current();
      if (pool && trip.reusable && !lease->draining.load()) {
        pool->Give(lease.backend(), std::move(connection));
      }
      co_return Exchange::kResponse;
    }
    if (trip.timed_out) {
      log::Warn("upstream timeout",
                {{"app", listener_->app}, {"backend", lease->id}, {"request_id", request_id_}});
      co_return Exchange::kTimeout;
    }
    if (reused && !trip.response_started) {
      if (UpstreamPool* pool = UpstreamPool::Current()) pool->Drop(lease.backend());
      if (idempotent) {
        fresh_only = true;
        continue;
      }
    }
    if (!reused && !trip.response_started && idempotent && !tried_other_backend) {
      // A fresh connection failed before any answer: the replica died or is going away
      // (kill -9, crash). An idempotent request is safe to send to another one.
      tried_other_backend = true;
      if (BackendLease other = listener_->PickBackend(lease.backend().get())) {
        lease = std::move(other);
        fresh_only = false;
        continue;
      }
    }
    log::Warn("upstream request failed", {{"app", listener_->app},
                                          {"backend", lease->id},
                                          {"request_id", request_id_},
                                          {"reused_connection", reused},
                                          {"error", trip.error.message()}});
    co_return Exchange::kUnavailable;
  }
}

asio::awaitable<error_code> ClientSession::Connect(UpstreamConnection& connection,
                                                   const Backend& backend) {
  error_code ec;
  auto address = asio::ip::make_address(backend.host, ec);
  if (ec) co_return ec;
  watchdog_.Arm(ProxyLimits::kConnectTimeout, connection.socket, shared_from_this());
  auto [connect_ec] =
      co_await connection.socket.async_connect(tcp::endpoint(address, backend.port), kUseTuple);
  watchdog_.Disarm();
  if (watchdog_.fired()) co_return make_error_code(asio::error::timed_out);
  if (connect_ec) co_return connect_ec;
  connection.socket.set_option(tcp::no_delay(true), ec);
  co_return error_code{};
}

asio::awaitable<ClientSession::RoundTrip> ClientSession::SendAndReceive(
    UpstreamConnection& connection) {
  RoundTrip trip;
  connection.buffer.clear();
  watchdog_.Arm(ProxyLimits::kUpstreamTimeout, connection.socket, shared_from_this());
  auto [write_ec, written] = co_await http::async_write(connection.socket, request_, kUseTuple);
  if (write_ec) {
    watchdog_.Disarm();
    trip.error = write_ec;
    trip.timed_out = watchdog_.fired();
    co_return trip;
  }
  std::optional<http::response_parser<http::string_body>> parser;
  for (;;) {
    parser.emplace();
    parser->header_limit(kUpstreamHeaderLimit);
    parser->body_limit(ProxyLimits::kResponseBodyLimit);
    if (head_request_) parser->skip(true);
    auto [read_ec, read] =
        co_await http::async_read(connection.socket, connection.buffer, *parser, kUseTuple);
    if (read > 0 || connection.buffer.size() > 0) trip.response_started = true;
    if (read_ec) {
      trip.error = read_ec;
      break;
    }
    const unsigned status = parser->get().result_int();
    if (status == 101) {  // Upgrade is stripped, so a switch is a protocol error
      trip.error = make_error_code(http::error::bad_status);
      break;
    }
    if (status / 100 == 1) continue;  // interim (100, 103): wait for the final response
    trip.reusable = parser->keep_alive() && !parser->need_eof() && connection.buffer.size() == 0;
    response_ = parser->release();
    break;
  }
  watchdog_.Disarm();
  trip.timed_out = trip.error && watchdog_.fired();
  co_return trip;
}

}  // namespace slipway::proxy
