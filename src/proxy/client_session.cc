// The client side of the request path: read, pick, forward (upstream_exchange.cc), answer.
#include "proxy/client_session.h"

#include <exception>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "proxy/header_rules.h"
#include "proxy/request_validation.h"

namespace slipway::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 4096;
constexpr std::size_t kMaxIdleBufferCapacity = 64 * 1024;
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;

bool IsHttpParseError(const error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

}  // namespace

void Watchdog::Arm(std::chrono::steady_clock::duration timeout, tcp::socket& socket,
                   std::shared_ptr<void> owner) {
  fired_ = false;
  timer_.expires_after(timeout);
  timer_.async_wait(
      [this, generation = ++generation_, &socket, owner = std::move(owner)](const error_code& ec) {
        if (ec || generation != generation_) return;  // disarmed, or re-armed since
        fired_ = true;
        error_code ignored;
        socket.cancel(ignored);
      });
}

void Watchdog::Disarm() {
  ++generation_;
  timer_.cancel();
}

ClientSession::ClientSession(std::shared_ptr<ListenerState> listener, tcp::socket socket)
    : listener_(std::move(listener)),
      socket_(std::move(socket)),
      watchdog_(socket_.get_executor()) {
  error_code ec;
  auto peer = socket_.remote_endpoint(ec);
  if (!ec) client_ip_ = peer.address().to_string();
  socket_.set_option(tcp::no_delay(true), ec);
}

ClientSession::~ClientSession() {
  if (registered_) listener_->Unregister(registration_);
}

void ClientSession::Start(std::shared_ptr<ListenerState> listener, tcp::socket socket) {
  auto session = std::make_shared<ClientSession>(listener, std::move(socket));
  session->registration_ = listener->Register(session);
  session->registered_ = true;
  auto executor = session->socket_.get_executor();
  asio::co_spawn(executor, session->Run(),
                 [session, app = listener->app](std::exception_ptr error) {
                   if (!error) return;
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     log::Error("proxy connection failed", {{"app", app}, {"error", e.what()}});
                   }
                 });
  // A listener being removed right now may have missed this connection: check once more.
  bool stopping;
  {
    std::lock_guard lock(listener->mu);
    stopping = listener->stopping;
  }
  if (stopping) session->Shutdown();
}

void ClientSession::Shutdown() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    if (self->idle_) {
      error_code ignored;
      self->socket_.cancel(ignored);
    }
  });
}

// The request path. Every step is a member function; the order is fixed here.
asio::awaitable<void> ClientSession::Run() {
  for (;;) {
    if (!co_await WaitForRequest()) break;                  // 1. keep-alive wait
    if (co_await ReadRequestHead() == Next::kClose) break;  // 2. head (limits, 400/413/431)
    if (co_await ReadRequestBody() == Next::kClose) break;  // 3. body (100-continue, 413)
    request_id_ = AssignRequestId(request_);                // 4. X-Request-ID
    BackendLease lease = listener_->PickBackend();          // 5. round robin
    if (!lease) {
      SetErrorResponse(
          503,
          nlohmann::ordered_json{{"error", "no ready replicas"}, {"app", listener_->app}}.dump(),
          true);
    } else {
      upstream_ = lease.backend();                                // for the access log
      PrepareUpstreamRequest();                                   // 6. forwarded, hop-by-hop
      switch (co_await ExchangeWithUpstream(std::move(lease))) {  // 7. forward (+ retries)
        case Exchange::kResponse:
          PrepareClientResponse();  // 8. response headers
          break;
        case Exchange::kUnavailable:
          SetUpstreamError(502, "upstream unavailable");
          break;
        case Exchange::kTimeout:
          SetUpstreamError(504, "upstream timeout");
          break;
      }
    }
    if (co_await WriteResponse() == Next::kClose) break;  // 9. answer
  }
  watchdog_.Disarm();
  error_code ignored;
  socket_.close(ignored);
}

asio::awaitable<ClientSession::Next> ClientSession::RefuseRequest(std::string_view reason) {
  // A request that could be read two ways is never forwarded, and nothing after it on this
  // connection can be trusted: answer 400 and close.
  head_request_ = false;
  client_keep_alive_ = false;
  linger_ = true;
  SetErrorResponse(400, nlohmann::ordered_json{{"error", "bad request"}, {"reason", reason}}.dump(),
                   false);
  co_await WriteResponse();
  co_return Next::kClose;
}

asio::awaitable<bool> ClientSession::WaitForRequest() {
  request_id_.clear();
  linger_ = false;
  if (buffer_.size() > 0) co_return true;  // a pipelined request is already here
  if (closing_) co_return false;
  if (buffer_.capacity() > kMaxIdleBufferCapacity) buffer_.shrink_to_fit();
  idle_ = true;
  watchdog_.Arm(first_request_ ? ProxyLimits::kHeaderTimeout : ProxyLimits::kIdleTimeout, socket_,
                shared_from_this());
  auto [ec, n] = co_await socket_.async_read_some(buffer_.prepare(kReadChunk), kUseTuple);
  watchdog_.Disarm();
  idle_ = false;
  first_request_ = false;
  if (ec) co_return false;  // closed, idle timeout, or Shutdown()
  buffer_.commit(n);
  co_return true;
}

asio::awaitable<ClientSession::Next> ClientSession::ReadRequestHead() {
  request_start_ = std::chrono::steady_clock::now();
  policy_ = listener_->Policy();
  upstream_.reset();
  request_read_ = false;
  parser_.emplace();
  parser_->header_limit(ProxyLimits::kHeaderLimit);
  parser_->body_limit(ProxyLimits::kRequestBodyLimit);
  watchdog_.Arm(ProxyLimits::kHeaderTimeout, socket_, shared_from_this());
  // The raw head first: what the parser would silently repair (obs-fold) is refused here.
  for (;;) {
    const auto data = buffer_.cdata();
    HeadScan scan = ScanRequestHead({static_cast<const char*>(data.data()), data.size()});
    if (scan.state == HeadScan::kComplete) break;
    if (scan.state == HeadScan::kBad) {
      watchdog_.Disarm();
      co_return co_await RefuseRequest(scan.reason);
    }
    if (buffer_.size() > ProxyLimits::kHeaderLimit) break;  // the parser answers 431
    auto [read_ec, n] = co_await socket_.async_read_some(buffer_.prepare(kReadChunk), kUseTuple);
    if (read_ec) {
      watchdog_.Disarm();
      co_return Next::kClose;  // closed, reset or timed out mid-head: nobody to answer
    }
    buffer_.commit(n);
  }
  auto [ec, n] = co_await http::async_read_header(socket_, buffer_, *parser_, kUseTuple);
  watchdog_.Disarm();
  if (!ec) {
    if (auto reason = RejectReason(parser_->get())) co_return co_await RefuseRequest(*reason);
    const auto& head = parser_->get();
    head_request_ = head.method() == http::verb::head;
    client_http10_ = head.version() < 11;
    client_keep_alive_ = head.keep_alive() && !closing_;
    co_return Next::kContinue;
  }
  head_request_ = false;
  client_keep_alive_ = false;
  linger_ = true;
  if (ec == http::error::header_limit) {
    SetErrorResponse(431, R"({"error":"request headers too large"})", false);
  } else if (ec == http::error::body_limit) {
    SetErrorResponse(413,
                     nlohmann::ordered_json{{"error", "request body too large"},
                                            {"limit_bytes", ProxyLimits::kRequestBodyLimit}}
                         .dump(),
                     false);
  } else if (IsHttpParseError(ec)) {
    SetErrorResponse(400, R"({"error":"bad request"})", false);
  } else {
    co_return Next::kClose;  // closed, reset or timed out: nobody to answer
  }
  co_await WriteResponse();
  co_return Next::kClose;
}

asio::awaitable<ClientSession::Next> ClientSession::ReadRequestBody() {
  if (!parser_->is_done()) {
    const auto& head = parser_->get();
    if (!client_http10_ && beast::iequals(head[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      watchdog_.Arm(ProxyLimits::kWriteTimeout, socket_, shared_from_this());
      auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(kContinue), kUseTuple);
      watchdog_.Disarm();
      if (ec) co_return Next::kClose;
    }
    watchdog_.Arm(ProxyLimits::kBodyTimeout, socket_, shared_from_this());
    auto [ec, n] = co_await http::async_read(socket_, buffer_, *parser_, kUseTuple);
    watchdog_.Disarm();
    if (ec) {
      client_keep_alive_ = false;
      linger_ = true;
      if (ec == http::error::body_limit) {
        SetErrorResponse(413,
                         nlohmann::ordered_json{{"error", "request body too large"},
                                                {"limit_bytes", ProxyLimits::kRequestBodyLimit}}
                             .dump(),
                         false);
      } else if (IsHttpParseError(ec)) {
        SetErrorResponse(400, R"({"error":"bad request"})", false);
      } else {
        co_return Next::kClose;
      }
      co_await WriteResponse();
      co_return Next::kClose;
    }
  }
  request_ = parser_->release();
  request_read_ = true;
  request_.erase(http::field::expect);
  co_return Next::kContinue;
}

void ClientSession::PrepareUpstreamRequest() {
  RemoveHopByHopHeaders(request_);
  SetForwardedHeaders(request_, client_ip_);
  AppendVia(request_, request_.version());  // the version as received, before it is set
  // The body is buffered whole: send it with a Content-Length, never chunked.
  request_.erase(http::field::transfer_encoding);
  const http::verb method = request_.method();
  if (!request_.body().empty() || method == http::verb::post || method == http::verb::put ||
      method == http::verb::patch) {
    request_.content_length(request_.body().size());
  } else {
    request_.erase(http::field::content_length);
  }
  request_.version(11);  // keep-alive by default, no Connection header
}

void ClientSession::PrepareClientResponse() {
  RemoveHopByHopHeaders(response_);
  RemoveHeaders(response_, policy_->hide_headers);
  AppendVia(response_, response_.version());
  SetSecurityHeaders(response_, policy_->security_headers);
  const unsigned status = response_.result_int();
  if (head_request_) {
    // Framing headers stay as the backend sent them: they describe the GET response.
  } else if (status / 100 == 1 || status == 204 || status == 304) {
    response_.erase(http::field::transfer_encoding);
    response_.body().clear();
  } else {
    response_.erase(http::field::transfer_encoding);  // the body was decoded: re-frame it
    response_.content_length(response_.body().size());
  }
  response_.version(11);
  response_.set("X-Request-ID", request_id_);
  if (!client_keep_alive_) {
    response_.set(http::field::connection, "close");
  } else if (client_http10_) {
    response_.set(http::field::connection, "keep-alive");
  }
}

void ClientSession::SetUpstreamError(unsigned status, const char* error) {
  SetErrorResponse(
      status, nlohmann::ordered_json{{"error", error}, {"request_id", request_id_}}.dump(), true);
}

void ClientSession::SetErrorResponse(unsigned status, std::string body, bool keep_alive) {
  response_ = Response{};
  response_.result(status);
  response_.version(11);
  response_.set(http::field::content_type, "application/json");
  if (policy_) SetSecurityHeaders(response_, policy_->security_headers);
  response_.body() = std::move(body);
  response_.content_length(response_.body().size());
  if (!request_id_.empty()) response_.set("X-Request-ID", request_id_);
  client_keep_alive_ = client_keep_alive_ && keep_alive && !closing_;
  if (!client_keep_alive_) {
    response_.set(http::field::connection, "close");
  } else if (client_http10_) {
    response_.set(http::field::connection, "keep-alive");
  }
}

asio::awaitable<ClientSession::Next> ClientSession::WriteResponse() {
  if (closing_ && client_keep_alive_) {  // Shutdown() came while the request was in flight
    client_keep_alive_ = false;
    response_.set(http::field::connection, "close");
  }
  watchdog_.Arm(ProxyLimits::kWriteTimeout, socket_, shared_from_this());
  error_code ec;
  if (head_request_) {
    http::response_serializer<http::string_body> serializer(response_);
    auto [write_ec, n] = co_await http::async_write_header(socket_, serializer, kUseTuple);
    ec = write_ec;
  } else {
    auto [write_ec, n] = co_await http::async_write(socket_, response_, kUseTuple);
    ec = write_ec;
  }
  watchdog_.Disarm();
  LogAccess(ec);
  if (ec) co_return Next::kClose;
  if (client_keep_alive_) co_return Next::kContinue;
  if (linger_) {
    co_await LingeringClose();
  } else {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }
  co_return Next::kClose;
}

// The client may still be sending a request we did not read; closing with unread input would
// reset the connection and could destroy the answer before the client reads it.
asio::awaitable<void> ClientSession::LingeringClose() {
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  watchdog_.Arm(ProxyLimits::kLingerTimeout, socket_, shared_from_this());
  std::size_t discarded = 0;
  char sink[kReadChunk];
  while (discarded < kMaxLingerBytes) {
    auto [read_ec, n] = co_await socket_.async_read_some(asio::buffer(sink), kUseTuple);
    if (read_ec) break;
    discarded += n;
  }
  watchdog_.Disarm();
}

// The record is built here (a few small copies); the JSON is formatted on the writer thread.
void ClientSession::LogAccess(const error_code& write_error) {
  if (!policy_ || policy_->access_log == nullptr) return;
  AccessRecord record;
  record.time = std::chrono::system_clock::now();
  record.request_id = request_id_;
  record.app = listener_->app;
  const http::request_header<>* head = nullptr;
  if (request_read_) {
    head = &request_.base();
  } else if (parser_ && parser_->is_header_done()) {
    head = &parser_->get().base();  // answered before its body was read (413, 400)
  }
  if (head != nullptr) {
    record.method = std::string(head->method_string());
    record.path = std::string(AccessLog::PathWithoutQuery(head->target()));
  }
  record.status = response_.result_int();
  record.bytes_sent = write_error || head_request_ ? 0 : response_.body().size();
  record.duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - request_start_)
          .count();
  if (upstream_) {
    record.upstream = upstream_->id;
    record.release = upstream_->release;
  }
  record.client = client_ip_;
  policy_->access_log->Push(std::move(record));
}

}  // namespace slipway::proxy
