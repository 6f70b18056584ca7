// The upstream side of the request path: a connection from the pool or a new one, the request
// head and body streamed to it, the response head read back, and the retry rules.
//
// Request bodies: a body already whole in the client buffer, and a chunked body that ends
// within the first kRelayChunk decoded bytes, are sent from memory (with a Content-Length),
// so they can be sent again. Longer bodies are streamed as they arrive and cannot.
//
// Retries (never more than one of each kind per request):
//  - connect to the picked backend fails: nothing was sent, so any request (POST included)
//    goes to another backend once; with none left, 502.
//  - a reused pooled connection fails before any response byte (the backend closed it while
//    idle): idempotent requests with a replayable body are sent again on a fresh connection to
//    the same backend; the backend's other idle connections are dropped.
//  - a fresh connection fails before any response byte (the replica died mid-request):
//    idempotent requests with a replayable body go to another backend.
//  - a timeout waiting for the response is never retried: 504.
//  - a canary backend answers 500/502/503/504 (ListenerOptions::retry_canary_5xx): idempotent
//    requests with a replayable body go once to the stable group; nothing of the canary's answer
//    has reached the client. Its answer is recorded for the canary (window and passive health).
//
// Release groups (TrafficSplit): the retries above to "another backend" look in the request's
// group first and then in the other one (an answer from the other release beats a 502); the
// request still counts for the group it reached (ReleaseWindow of the backend that answered).
//
// Every attempt is recorded in its backend's ReleaseWindow: a failed connect or exchange as
// 502 (504 on timeout) when it ends, a retried canary 5xx with its status, and the answer the
// client gets when its last byte is relayed (body_relay.cc). A pooled connection found closed
// and retried is not recorded; a client that leaves before an answer is not either.
//
// The RequestCounters (for /metrics) count each client request once, when it ends, for the
// release of the backend that answered last (client_session.cc, CountRequest); here, every
// failed connect (timeouts included) and every retry, for the release of the backend that failed.
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "proxy/body_decoder.h"
#include "proxy/client_session.h"
#include "proxy/wire_format.h"

namespace slipway::proxy {

constexpr log::Logger kLog{"proxy"};

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kHeadRead = 16 * 1024;  // a head and, often, the whole small body

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

// A canary's answers worth one more try on the stable group: its own failure or overload, not
// a refusal of the request (501, 505) that the stable release would give as well.
bool IsRetriableCanaryStatus(unsigned status) {
  return status == 500 || status == 502 || status == 503 || status == 504;
}

}  // namespace

asio::awaitable<ClientSession::Exchange> ClientSession::ExchangeWithUpstream() {
  BackendLease& lease = lease_;
  const bool idempotent = IsIdempotent(parser_->get().method());
  const bool replayable = idempotent && body_in_buffer_;
  bool tried_other_backend = false;
  bool retried_on_stable = false;
  bool fresh_only = false;
  for (;;) {
    std::unique_ptr<UpstreamConnection> connection;
    bool reused = false;
    if (UpstreamPool* pool = UpstreamPool::Current(); pool && !fresh_only && !upgrade_requested_) {
      connection = pool->Take(lease.backend());
      reused = connection != nullptr;
    }
    if (!connection) {
      connection = std::make_unique<UpstreamConnection>(stream_.tcp().get_executor());
      error_code ec = co_await Connect(*connection, *lease.backend());
      if (ec) {
        const bool timed_out = ec == asio::error::timed_out;
        const auto now = std::chrono::steady_clock::now();
        RecordOutcome(*lease.backend(),
                      timed_out ? UpstreamOutcome::kTimeout : UpstreamOutcome::kConnectError, now);
        RecordInWindow(*lease.backend(), timed_out ? 504 : 502, now);
        CountConnectError(*lease.backend());
        kLog.Warn("upstream connect failed", {{"app", listener_->app},
                                              {"backend", lease->id},
                                              {"request_id", request_id_},
                                              {"error", ec.message()}});
        if (!tried_other_backend) {
          tried_other_backend = true;
          if (BackendLease other = PickBackend(group_, lease.backend().get(), true)) {
            CountRetry(*lease.backend(), metrics::RetryReason::kConnectError);
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
    RoundTrip trip = co_await SendAndReceiveHead(*connection);
    if (!trip.error) {
      const unsigned status = response_parser_->get().result_int();
      const auto now = std::chrono::steady_clock::now();
      RecordOutcome(*lease.backend(),
                    status >= 500 ? UpstreamOutcome::kServerError : UpstreamOutcome::kSuccess, now);
      if (group_ == ReleaseGroup::kCanary && IsRetriableCanaryStatus(status) && replayable &&
          !retried_on_stable && policy_->retry_canary_5xx) {
        ReleaseGroup stable = ReleaseGroup::kStable;
        if (BackendLease other = PickBackend(stable, nullptr, /*fall_back=*/false)) {
          // The canary's answer counts for its analysis; its body is never read, so its
          // connection is closed rather than pooled.
          RecordInWindow(*lease.backend(), status, now);
          CountRetry(*lease.backend(), metrics::RetryReason::kCanary5xx);
          error_code ignored;
          connection->socket.close(ignored);
          retried_on_stable = true;
          lease = std::move(other);
          group_ = ReleaseGroup::kStable;
          fresh_only = false;
          continue;
        }
      }
      if (request_framing_ == Framing::kLength && body_in_buffer_ && !chunked_in_memory_) {
        buffer_.consume(request_body_left_);  // the body is delivered: past it, the next request
        request_body_left_ = 0;
      }
      upstream_connection_ = std::move(connection);
      co_return Exchange::kResponse;
    }
    if (trip.client_failed) co_return Exchange::kClientGone;
    if (trip.body_too_large) co_return Exchange::kAnswered;
    // A pooled connection the backend closed while idle says nothing about its health.
    const bool counted = !reused || trip.response_started || trip.timed_out;
    const auto now = std::chrono::steady_clock::now();
    if (counted) {
      RecordOutcome(*lease.backend(),
                    trip.timed_out ? UpstreamOutcome::kTimeout : UpstreamOutcome::kConnectError,
                    now);
      RecordInWindow(*lease.backend(), trip.timed_out ? 504 : 502, now);
    }
    if (trip.timed_out) {
      kLog.Warn("upstream timeout",
                {{"app", listener_->app}, {"backend", lease->id}, {"request_id", request_id_}});
      co_return Exchange::kTimeout;
    }
    if (reused && !trip.response_started) {
      if (UpstreamPool* pool = UpstreamPool::Current()) pool->Drop(lease.backend());
      if (replayable) {
        CountRetry(*lease.backend(), metrics::RetryReason::kStaleConnection);
        fresh_only = true;
        continue;
      }
    }
    if (!reused && !trip.response_started && replayable && !tried_other_backend) {
      // A fresh connection failed before any answer: the replica died or is going away
      // (kill -9, crash). An idempotent request is safe to send to another one.
      tried_other_backend = true;
      if (BackendLease other = PickBackend(group_, lease.backend().get(), true)) {
        CountRetry(*lease.backend(), metrics::RetryReason::kUpstreamReset);
        lease = std::move(other);
        fresh_only = false;
        continue;
      }
    }
    if (!counted) RecordInWindow(*lease.backend(), 502, now);  // the 502 the client gets
    kLog.Warn("upstream request failed", {{"app", listener_->app},
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
  Guard(policy_->timeouts.upstream_connect, connection.socket);
  auto [connect_ec] =
      co_await connection.socket.async_connect(tcp::endpoint(address, backend.port), kUseTuple);
  watchdog_.Disarm();
  if (watchdog_.fired()) co_return make_error_code(asio::error::timed_out);
  if (connect_ec) co_return connect_ec;
  connection.socket.set_option(tcp::no_delay(true), ec);
  co_return error_code{};
}

asio::awaitable<error_code> ClientSession::Send100Continue() {
  if (!expect_continue_) co_return error_code{};
  expect_continue_ = false;
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  Guard(policy_->timeouts.idle, stream_.tcp());
  auto [ec, n] = co_await stream_.Write(asio::buffer(kContinue));
  watchdog_.Disarm();
  co_return ec;
}

asio::awaitable<ClientSession::RoundTrip> ClientSession::SendAndReceiveHead(
    UpstreamConnection& connection) {
  RoundTrip trip;
  std::string_view body;  // sent from memory with the head
  if (body_in_buffer_ && chunked_in_memory_) {
    body = {chunk_buffer_.data(), chunk_pending_};
  } else if (body_in_buffer_ && request_framing_ == Framing::kLength) {
    body = {static_cast<const char*>(buffer_.cdata().data()),
            static_cast<std::size_t>(request_body_left_)};
  }
  head_out_.clear();
  AppendRequestHead(parser_->get(), head_out_);

  Guard(policy_->timeouts.upstream_response, connection.socket);
  const std::array<asio::const_buffer, 2> head_and_body{asio::buffer(head_out_),
                                                        asio::buffer(body)};
  auto [write_ec, written] =
      co_await asio::async_write(connection.socket, head_and_body, kUseTuple);
  watchdog_.Disarm();
  trip.request_sent = written > 0;
  if (write_ec) {
    trip.error = write_ec;
    trip.timed_out = watchdog_.fired();
    co_return trip;
  }
  bool answered_early = false;
  if (!body_in_buffer_) {
    // Streamed while watching the upstream: an app may answer (413, 401, a redirect) before
    // the body is all there, and then stop reading it. That answer is the client's, not a 502.
    auto sent = co_await (SendRequestBody(connection) ||
                          connection.socket.async_wait(tcp::socket::wait_read, kUseTuple));
    if (sent.index() == 0) {
      RoundTrip streamed = std::get<0>(std::move(sent));
      if (streamed.error) co_return streamed;
    } else {
      answered_early = true;
    }
  }
  trip.error = co_await ReadResponseHead(connection, trip);
  if (answered_early && !trip.error) {
    // Part of the body was never sent: the upstream connection is done, and the rest of the
    // client's body is read and dropped after the answer (lingering close).
    upstream_reusable_ = false;
    client_keep_alive_ = false;
    linger_ = true;
    kLog.Info("upstream answered before the request body was sent",
              {{"app", listener_->app},
               {"request_id", request_id_},
               {"status", response_parser_->get().result_int()}});
  }
  co_return trip;
}

// Streams the rest of the client's body to the upstream: raw bytes for a Content-Length body,
// decoded and re-chunked for a chunked one (so the backend never parses the client's framing).
asio::awaitable<ClientSession::RoundTrip> ClientSession::SendRequestBody(
    UpstreamConnection& connection) {
  RoundTrip trip;
  trip.request_sent = true;
  if (error_code ec = co_await Send100Continue()) {
    trip.error = ec;
    trip.client_failed = true;
    co_return trip;
  }
  auto write_upstream =
      [&](const std::array<asio::const_buffer, 3>& pieces) -> asio::awaitable<error_code> {
    Guard(policy_->timeouts.upstream_response, connection.socket);
    auto [ec, n] = co_await asio::async_write(connection.socket, pieces, kUseTuple);
    watchdog_.Disarm();
    co_return ec;
  };
  auto read_client = [&]() -> asio::awaitable<error_code> {
    const std::size_t want = request_framing_ == Framing::kLength
                                 ? static_cast<std::size_t>(std::min<std::uint64_t>(
                                       request_body_left_, ProxyLimits::kRelayChunk))
                                 : ProxyLimits::kRelayChunk;
    Guard(policy_->timeouts.idle, stream_.tcp());
    auto [ec, n] = co_await stream_.ReadSome(buffer_.prepare(want));
    watchdog_.Disarm();
    buffer_.commit(n);
    co_return ec;
  };

  if (request_framing_ == Framing::kLength) {
    while (request_body_left_ > 0) {
      if (buffer_.size() == 0) {
        if (error_code ec = co_await read_client()) {
          trip.error = ec;
          trip.client_failed = true;
          co_return trip;
        }
      }
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), request_body_left_));
      const std::array<asio::const_buffer, 3> piece{asio::buffer(buffer_.cdata().data(), n),
                                                    asio::const_buffer(), asio::const_buffer()};
      if (error_code ec = co_await write_upstream(piece)) {
        trip.error = ec;
        trip.timed_out = watchdog_.fired();
        co_return trip;
      }
      buffer_.consume(n);
      request_body_left_ -= n;
    }
    co_return trip;
  }

  // Chunked: what was decoded before the head went out, then piece by piece as it comes; each
  // piece goes out as one chunk.
  for (;;) {
    std::size_t n = chunk_pending_;
    chunk_pending_ = 0;
    if (n == 0 && !parser_->is_done()) {
      DecodeResult decoded = co_await DecodeRequestChunk(/*fill=*/false);
      if (decoded.client_gone || decoded.refused) {
        trip.error = make_error_code(asio::error::operation_aborted);
        trip.client_failed = decoded.client_gone;
        trip.body_too_large = decoded.refused;  // answered locally; the upstream is dropped
        co_return trip;
      }
      n = decoded.size;
    }
    char size_line[20];
    const std::size_t size_len = FormatChunkSize(n, size_line);
    const bool done = parser_->is_done();
    static constexpr std::string_view kEndAndLast = "\r\n0\r\n\r\n";
    std::array<asio::const_buffer, 3> pieces{
        n > 0 ? asio::buffer(size_line, size_len) : asio::const_buffer(),
        asio::buffer(chunk_buffer_.data(), n),
        n > 0 ? asio::buffer(done ? kEndAndLast : kChunkEnd)
              : (done ? asio::buffer(kLastChunk) : asio::const_buffer())};
    if (error_code write_ec = co_await write_upstream(pieces)) {
      trip.error = write_ec;
      trip.timed_out = watchdog_.fired();
      co_return trip;
    }
    if (done) co_return trip;
  }
}

// Decodes the client's chunked body into chunk_buffer_: until it is full or the body ends when
// `fill`, else as soon as some body bytes are there.
asio::awaitable<ClientSession::DecodeResult> ClientSession::DecodeRequestChunk(bool fill) {
  DecodeResult result;
  if (error_code ec = co_await Send100Continue()) {
    result.client_gone = true;
    co_return result;
  }
  chunk_buffer_.resize(ProxyLimits::kRelayChunk);
  error_code ec;
  for (;;) {
    DecodeStep step = DecodeBody(*parser_, buffer_, chunk_buffer_.data() + result.size,
                                 chunk_buffer_.size() - result.size);
    result.size += step.produced;
    ec = step.error;
    if (ec || !step.need_input) break;    // full, done, or malformed
    if (!fill && result.size > 0) break;  // streaming: send what is here
    if (result.size == chunk_buffer_.size()) break;
    Guard(policy_->timeouts.idle, stream_.tcp());
    auto [read_ec, n] = co_await stream_.ReadSome(buffer_.prepare(ProxyLimits::kRelayChunk));
    watchdog_.Disarm();
    buffer_.commit(n);
    if (read_ec) {
      result.client_gone = true;
      co_return result;
    }
  }
  if (ec) {
    result.refused = true;
    client_keep_alive_ = false;
    if (ec == http::error::body_limit) {
      SetLocalResponse(413,
                       nlohmann::ordered_json{{"error", "request body too large"},
                                              {"limit_bytes", policy_->limits.max_request_body}}
                           .dump(),
                       false);
    } else {
      SetLocalResponse(400, R"({"error":"bad request","reason":"malformed chunked body"})", false);
    }
    co_return result;
  }
  co_return result;
}

asio::awaitable<error_code> ClientSession::ReadResponseHead(UpstreamConnection& connection,
                                                            RoundTrip& trip) {
  Guard(policy_->timeouts.upstream_response, connection.socket);
  error_code result;
  for (;;) {
    response_parser_.emplace();
    response_parser_->header_limit(ProxyLimits::kUpstreamHeaderLimit);
    response_parser_->body_limit(boost::none);  // streamed: no limit
    if (head_request_) response_parser_->skip(true);
    // Read and parse by hand rather than with Beast's composed read: one read per segment into
    // the connection's buffer, and no composed-operation state per request.
    error_code read_ec;
    while (!response_parser_->is_header_done()) {
      if (connection.buffer.size() > 0) {
        const std::size_t used = response_parser_->put(connection.buffer.cdata(), read_ec);
        connection.buffer.consume(used);
        if (!read_ec) continue;
        if (read_ec != http::error::need_more) break;
        read_ec = {};
        if (connection.buffer.size() >= ProxyLimits::kUpstreamHeaderLimit) {
          read_ec = http::error::header_limit;
          break;
        }
      }
      auto [ec, n] = co_await connection.socket.async_read_some(
          connection.buffer.prepare(kHeadRead), kUseTuple);
      connection.buffer.commit(n);
      if (n > 0) trip.response_started = true;
      if (ec) {
        read_ec = ec == asio::error::eof && !trip.response_started
                      ? make_error_code(http::error::end_of_stream)
                      : ec;
        break;
      }
    }
    if (read_ec) {
      result = read_ec;
      break;
    }
    const unsigned status = response_parser_->get().result_int();
    if (status == 101 && !upgrade_requested_) {  // a switch nobody asked for
      result = make_error_code(http::error::bad_status);
      break;
    }
    if (status / 100 == 1 && status != 101) continue;  // interim (100, 103): wait for the final
    break;
  }
  watchdog_.Disarm();
  trip.timed_out = result && watchdog_.fired();
  if (result) co_return result;

  const unsigned status = response_parser_->get().result_int();
  upstream_reusable_ = response_parser_->keep_alive() && status != 101;
  if (head_request_ || status / 100 == 1 || status == 204 || status == 304) {
    response_source_ = Framing::kNone;
  } else if (response_parser_->chunked()) {
    response_source_ = Framing::kChunked;
  } else if (auto length = response_parser_->content_length()) {
    response_source_ = Framing::kLength;
    response_body_left_ = *length;
  } else {
    response_source_ = Framing::kUntilClose;
    upstream_reusable_ = false;
  }
  co_return error_code{};
}

}  // namespace slipway::proxy
