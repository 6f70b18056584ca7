// The client side of the request path: read the head, pick a backend, forward
// (upstream_exchange.cc), relay the answer (body_relay.cc), keep the connection or close it.
#include "proxy/client_session.h"

#include <exception>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "metrics/release_window.h"
#include "proxy/gzip_encoder.h"
#include "proxy/header_rules.h"
#include "proxy/request_validation.h"
#include "proxy/wire_format.h"

namespace slipway::proxy {

constexpr log::Logger kLog{"proxy"};

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kReadChunk = 4096;
// An idle connection keeps at most this much input buffer: 1,000 idle keep-alive connections
// must not pin megabytes.
constexpr std::size_t kMaxIdleBufferCapacity = 8 * 1024;
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;

bool HasToken(std::string_view list, std::string_view token) {
  for (auto t : http::token_list(list)) {
    if (beast::iequals(t, token)) return true;
  }
  return false;
}

metrics::HttpMethod CountedMethod(http::verb verb) {
  switch (verb) {
    case http::verb::get:
      return metrics::HttpMethod::kGet;
    case http::verb::head:
      return metrics::HttpMethod::kHead;
    case http::verb::post:
      return metrics::HttpMethod::kPost;
    case http::verb::put:
      return metrics::HttpMethod::kPut;
    case http::verb::delete_:
      return metrics::HttpMethod::kDelete;
    case http::verb::patch:
      return metrics::HttpMethod::kPatch;
    case http::verb::options:
      return metrics::HttpMethod::kOptions;
    default:
      return metrics::HttpMethod::kOther;
  }
}

std::string TooLargeBody(std::uint64_t limit) {
  return nlohmann::ordered_json{{"error", "request body too large"}, {"limit_bytes", limit}}.dump();
}

}  // namespace

void Watchdog::ArmUntil(std::chrono::steady_clock::time_point deadline, tcp::socket& socket) {
  fired_ = false;
  socket_ = &socket;
  deadline_ = deadline;
  if (waiting_ && timer_.expiry() <= deadline_) return;  // it wakes first and re-waits
  Wait(owner_.lock());
}

void Watchdog::Wait(std::shared_ptr<void> owner) {
  timer_.expires_at(deadline_);  // supersedes a pending wait (its handler sees the generation)
  waiting_ = true;
  timer_.async_wait(
      [this, generation = ++generation_, owner = std::move(owner)](const error_code& ec) mutable {
        if (generation != generation_) return;  // superseded by a nearer deadline
        waiting_ = false;
        if (ec || socket_ == nullptr) return;  // stopped, or nothing armed: the timer rests
        if (std::chrono::steady_clock::now() < deadline_) return Wait(std::move(owner));
        fired_ = true;
        error_code ignored;
        socket_->cancel(ignored);
        socket_ = nullptr;
      });
}

void Watchdog::Stop() {
  socket_ = nullptr;
  ++generation_;
  waiting_ = false;
  timer_.cancel();
}

ClientSession::ClientSession(std::shared_ptr<ListenerState> listener, tcp::socket socket,
                             std::atomic<std::uint32_t>* open_connections,
                             std::shared_ptr<asio::ssl::context> tls)
    : listener_(std::move(listener)),
      worker_connections_(open_connections),
      stream_(std::move(socket)),
      watchdog_(stream_.tcp().get_executor()) {
  error_code ec;
  auto peer = stream_.tcp().remote_endpoint(ec);
  if (!ec) client_ip_ = peer.address().to_string();
  stream_.tcp().set_option(tcp::no_delay(true), ec);
  if (tls) stream_.UseTls(std::move(tls));
  listener_->open_connections.fetch_add(1, std::memory_order_relaxed);
  if (worker_connections_) worker_connections_->fetch_add(1, std::memory_order_relaxed);
}

ClientSession::~ClientSession() {
  listener_->open_connections.fetch_sub(1, std::memory_order_relaxed);
  if (worker_connections_) worker_connections_->fetch_sub(1, std::memory_order_relaxed);
  if (registered_) listener_->Unregister(registration_);
}

void ClientSession::Start(std::shared_ptr<ListenerState> listener, tcp::socket socket,
                          std::atomic<std::uint32_t>* open_connections,
                          std::shared_ptr<asio::ssl::context> tls) {
  auto session = std::make_shared<ClientSession>(listener, std::move(socket), open_connections,
                                                 std::move(tls));
  session->watchdog_.SetOwner(session);
  session->registration_ = listener->Register(session);
  session->registered_ = true;
  auto executor = session->stream_.tcp().get_executor();
  asio::co_spawn(executor, session->Run(),
                 [session, app = listener->app](std::exception_ptr error) {
                   if (!error) return;
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     kLog.Error("proxy connection failed", {{"app", app}, {"error", e.what()}});
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
  asio::post(stream_.tcp().get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    if (self->idle_ || self->tunneling_) {
      error_code ignored;
      self->stream_.tcp().cancel(ignored);
    }
  });
}

BackendLease ClientSession::RouteRequest() {
  const TrafficSplit& split = *split_;
  const auto& head = parser_->get();
  RoutingHints hints;
  if (!split.header.empty()) hints.header = head[split.header];
  if (!split.sticky_cookie.empty() && split.active()) {
    for (auto [it, end] = head.equal_range(http::field::cookie); it != end; ++it) {
      hints.cookie_release = FindCookieRelease(it->value(), split.sticky_cookie);
      if (hints.cookie_release) break;
    }
  }
  const RouteDecision decision = ChooseGroup(split, hints, listener_->Spreader());
  group_ = decision.group;
  BackendLease lease = PickBackend(group_, nullptr, /*fall_back=*/true);
  // The cookie names the release the routing chose (after a fallback for an empty group); a
  // retry of this one request elsewhere does not move the client.
  set_sticky_cookie_ = lease && split.active() && decision.sticky && !split.sticky_cookie.empty() &&
                       hints.cookie_release != lease->release;
  sticky_release_ = lease ? lease->release : 0;
  return lease;
}

BackendLease ClientSession::PickBackend(ReleaseGroup& group, const Backend* exclude,
                                        bool fall_back) {
  const auto now = std::chrono::steady_clock::now();
  if (BackendLease lease = policy_->balancer->Pick(GroupBackends(group), exclude, now)) {
    return lease;
  }
  if (!fall_back) return {};
  const ReleaseGroup other = OtherGroup(group);
  BackendLease lease = policy_->balancer->Pick(GroupBackends(other), exclude, now);
  if (lease) group = other;
  return lease;
}

void ClientSession::RecordOutcome(Backend& backend, UpstreamOutcome outcome,
                                  std::chrono::steady_clock::time_point now) {
  policy_->balancer->Record(GroupBackends(group_), backend, outcome, now);
}

void ClientSession::RecordInWindow(const Backend& backend, unsigned status,
                                   std::chrono::steady_clock::time_point now) {
  if (!backend.window) return;
  if (now == std::chrono::steady_clock::time_point{}) now = FinishedAt();
  backend.window->Record(
      CurrentWorkerIndex(), static_cast<int>(status),
      std::chrono::duration_cast<std::chrono::microseconds>(now - request_start_), now);
}

void ClientSession::CountConnectError(const Backend& backend) {
  if (backend.counters) backend.counters->RecordConnectError(CurrentWorkerIndex());
}

void ClientSession::CountRetry(const Backend& backend, metrics::RetryReason reason) {
  if (backend.counters) backend.counters->RecordRetry(CurrentWorkerIndex(), reason);
}

// The release the access log names is the one the request counts for: the backend that gave
// the answer, or whose failure made the proxy's 502/504.
void ClientSession::CountRequest() {
  metrics::RequestCounters* counters = upstream_ ? upstream_->counters.get()
                                       : policy_ ? policy_->local_counters.get()
                                                 : nullptr;
  if (counters == nullptr) return;
  if (status_ == 499) {  // the client left before any answer
    counters->RecordClientAbort(CurrentWorkerIndex());
    return;
  }
  counters->RecordRequest(
      CurrentWorkerIndex(), static_cast<int>(status_), method_,
      std::chrono::duration_cast<std::chrono::microseconds>(FinishedAt() - request_start_));
}

std::chrono::steady_clock::time_point ClientSession::FinishedAt() {
  if (finished_at_ == std::chrono::steady_clock::time_point{}) {
    finished_at_ = std::chrono::steady_clock::now();
  }
  return finished_at_;
}

void ClientSession::Guard(std::chrono::milliseconds op, tcp::socket& socket) {
  watchdog_.ArmUntil(std::min(std::chrono::steady_clock::now() + op, deadline_), socket);
}

// The request path. Every step is a member function; the order is fixed here.
asio::awaitable<void> ClientSession::Run() {
  if (stream_.tls()) {
    policy_ = listener_->Policy();
    watchdog_.Arm(policy_->timeouts.header, stream_.tcp());
    error_code ec = co_await stream_.Handshake();
    watchdog_.Disarm();
    if (ec) {
      stream_.Close();
      co_return;
    }
  }
  for (;;) {
    if (!co_await WaitForRequest()) break;                  // 1. keep-alive wait
    if (co_await ReadRequestHead() == Next::kClose) break;  // 2. head (limits, 400/414/431/413)
    if (co_await ServeRequest() == Next::kClose) break;     // 3. pick, forward, relay
  }
  watchdog_.Stop();
  if (upstream_connection_) {
    error_code ignored;
    upstream_connection_->socket.close(ignored);
  }
  stream_.Close();
}

asio::awaitable<bool> ClientSession::WaitForRequest() {
  request_id_.clear();
  linger_ = false;
  if (buffer_.size() > 0) co_return true;  // a pipelined request is already here
  if (closing_) co_return false;
  if (buffer_.capacity() > kMaxIdleBufferCapacity) buffer_.shrink_to_fit();
  if (chunk_buffer_.capacity() > 0) std::vector<char>().swap(chunk_buffer_);
  policy_ = listener_->Policy();
  idle_ = true;
  watchdog_.Arm(first_request_ ? policy_->timeouts.header : policy_->timeouts.idle, stream_.tcp());
  auto [ec, n] = co_await stream_.ReadSome(buffer_.prepare(kReadChunk));
  watchdog_.Disarm();
  idle_ = false;
  first_request_ = false;
  if (ec) co_return false;  // closed, idle timeout, or Shutdown()
  buffer_.commit(n);
  co_return true;
}

asio::awaitable<ClientSession::Next> ClientSession::ReadRequestHead() {
  request_start_ = std::chrono::steady_clock::now();
  finished_at_ = {};
  policy_ = listener_->Policy();
  deadline_ = request_start_ + policy_->timeouts.total;
  upstream_.reset();
  lease_.Reset();
  group_ = ReleaseGroup::kStable;
  set_sticky_cookie_ = false;
  status_ = 0;
  bytes_sent_ = 0;
  head_request_ = false;
  method_ = metrics::HttpMethod::kOther;
  upgrade_requested_ = false;
  expect_continue_ = false;
  compress_ = false;
  request_framing_ = Framing::kNone;
  request_body_left_ = 0;
  body_in_buffer_ = false;
  chunked_in_memory_ = false;
  chunk_pending_ = 0;
  response_sink_ = Framing::kNone;
  const ProxyLimitOptions& limits = policy_->limits;
  parser_.emplace();
  parser_->header_limit(limits.max_header_bytes);
  parser_->body_limit(limits.max_request_body);

  // The raw head first: what the parser would silently repair (obs-fold) is refused here.
  Guard(policy_->timeouts.header, stream_.tcp());
  for (;;) {
    const auto data = buffer_.cdata();
    HeadScan scan = ScanRequestHead({static_cast<const char*>(data.data()), data.size()});
    if (scan.state == HeadScan::kComplete) break;
    if (scan.state == HeadScan::kBad) {
      watchdog_.Disarm();
      Refuse(400, nlohmann::ordered_json{{"error", "bad request"}, {"reason", scan.reason}}.dump());
      co_return co_await WriteLocalResponse();
    }
    if (buffer_.size() > limits.max_header_bytes) {
      watchdog_.Disarm();
      Refuse(431, R"({"error":"request headers too large"})");
      co_return co_await WriteLocalResponse();
    }
    auto [read_ec, n] = co_await stream_.ReadSome(buffer_.prepare(kReadChunk));
    if (read_ec) {
      watchdog_.Disarm();
      co_return Next::kClose;  // closed, reset or timed out mid-head: nobody to answer
    }
    buffer_.commit(n);
  }
  watchdog_.Disarm();

  error_code ec;
  const std::size_t used = parser_->put(buffer_.cdata(), ec);
  if (!ec && !parser_->is_header_done()) ec = http::error::partial_message;
  if (ec) {
    if (ec == http::error::header_limit) {
      Refuse(431, R"({"error":"request headers too large"})");
      co_return co_await WriteLocalResponse();
    }
    if (ec == http::error::body_limit) {
      Refuse(413, TooLargeBody(limits.max_request_body));
      co_return co_await WriteLocalResponse();
    }
    Refuse(400, R"({"error":"bad request"})");
    co_return co_await WriteLocalResponse();
  }
  buffer_.consume(used);

  auto& head = parser_->get();
  head_request_ = head.method() == http::verb::head;
  method_ = CountedMethod(head.method());
  client_http10_ = head.version() < 11;
  client_keep_alive_ = head.keep_alive() && !closing_;
  if (auto reason = RejectReason(head)) {
    Refuse(400, nlohmann::ordered_json{{"error", "bad request"}, {"reason", *reason}}.dump());
    co_return co_await WriteLocalResponse();
  }
  if (head.target().size() > limits.max_uri_bytes) {
    Refuse(414, nlohmann::ordered_json{{"error", "request target too long"},
                                       {"limit_bytes", limits.max_uri_bytes}}
                    .dump());
    co_return co_await WriteLocalResponse();
  }
  if (parser_->chunked()) {
    request_framing_ = Framing::kChunked;
  } else if (auto length = parser_->content_length(); length && *length > 0) {
    request_framing_ = Framing::kLength;
    request_body_left_ = *length;
  }
  expect_continue_ = request_framing_ != Framing::kNone && !client_http10_ &&
                     beast::iequals(head[http::field::expect], "100-continue");
  upgrade_requested_ = head.method() == http::verb::get && head.version() == 11 &&
                       request_framing_ == Framing::kNone &&
                       beast::iequals(head[http::field::upgrade], "websocket") &&
                       HasToken(head[http::field::connection], "upgrade");
  co_return Next::kContinue;
}

asio::awaitable<ClientSession::Next> ClientSession::ServeRequest() {
  request_id_ = AssignRequestId(parser_->get());
  if (policy_->redirect_https) {
    SetLocalResponse(308, R"({"error":"use https"})", request_framing_ == Framing::kNone,
                     HttpsLocation(parser_->get()[http::field::host], policy_->https_port,
                                   parser_->get().target()));
    co_return co_await WriteLocalResponse();
  }

  split_ = listener_->pool->Snapshot();
  lease_ = RouteRequest();
  if (!lease_) {
    SetLocalResponse(
        503, nlohmann::ordered_json{{"error", "no ready replicas"}, {"app", listener_->app}}.dump(),
        request_framing_ == Framing::kNone);
    co_return co_await WriteLocalResponse();
  }
  upstream_ = lease_.backend();  // for the access log
  PrepareUpstreamRequest();
  if (request_framing_ == Framing::kChunked) {
    if (co_await PrebufferChunkedBody() == Next::kClose) co_return Next::kClose;
    if (status_ != 0) co_return co_await WriteLocalResponse();  // 400 or 413
  }
  body_in_buffer_ = request_framing_ == Framing::kNone || chunked_in_memory_ ||
                    (request_framing_ == Framing::kLength && buffer_.size() >= request_body_left_);
  const Exchange exchange = co_await ExchangeWithUpstream();
  if (exchange == Exchange::kResponse) {
    PrepareClientResponse();
    co_return co_await RelayResponse();
  }
  lease_.Reset();
  if (upstream_connection_) {
    error_code ignored;
    upstream_connection_->socket.close(ignored);
    upstream_connection_.reset();
  }
  if (request_framing_ == Framing::kLength && body_in_buffer_ && !chunked_in_memory_ &&
      request_body_left_ > 0) {
    buffer_.consume(request_body_left_);  // never sent: skip it to reach the next request
  } else if (request_framing_ != Framing::kNone && !body_in_buffer_) {
    client_keep_alive_ = false;  // part of the body is unread
  }
  switch (exchange) {
    case Exchange::kClientGone:
      status_ = 499;  // the access log's name for "client went away"
      LogAccess(false);
      co_return Next::kClose;
    case Exchange::kAnswered:  // the local response is set
      co_return co_await WriteLocalResponse();
    case Exchange::kTimeout:
      SetUpstreamError(504, "upstream timeout");
      co_return co_await WriteLocalResponse();
    default:
      SetUpstreamError(502, "upstream unavailable");
      co_return co_await WriteLocalResponse();
  }
}

void ClientSession::PrepareUpstreamRequest() {
  auto& head = parser_->get();
  RemoveHopByHopHeaders(head);
  if (upgrade_requested_) {
    head.set(http::field::upgrade, "websocket");
    head.set(http::field::connection, "Upgrade");
  }
  SetForwardedHeaders(head, client_ip_, stream_.tls() ? "https" : "http");
  AppendVia(head, head.version());  // the version as received, before it is set
  head.erase(http::field::expect);  // Slipway answers 100-continue itself
  const http::verb method = head.method();
  if (request_framing_ == Framing::kNone) {
    head.erase(http::field::transfer_encoding);
    if (method == http::verb::post || method == http::verb::put || method == http::verb::patch) {
      head.set(http::field::content_length, "0");
    } else {
      head.erase(http::field::content_length);
    }
  }
  head.version(11);
}

asio::awaitable<ClientSession::Next> ClientSession::PrebufferChunkedBody() {
  DecodeResult decoded = co_await DecodeRequestChunk(/*fill=*/true);
  if (decoded.client_gone) {
    status_ = 499;
    LogAccess(false);
    co_return Next::kClose;
  }
  if (decoded.refused) co_return Next::kContinue;  // status_ is set: the caller answers
  chunk_pending_ = decoded.size;
  if (parser_->is_done()) {
    chunked_in_memory_ = true;
    request_framing_ = Framing::kLength;
    request_body_left_ = decoded.size;
    auto& head = parser_->get();
    head.erase(http::field::transfer_encoding);
    head.set(http::field::content_length, std::to_string(decoded.size));
  }
  co_return Next::kContinue;
}

void ClientSession::PrepareClientResponse() {
  auto& response = response_parser_->get();
  const unsigned status = response.result_int();
  const bool switching = status == 101;
  RemoveHopByHopHeaders(response);
  if (switching) {
    response.set(http::field::upgrade, "websocket");
    response.set(http::field::connection, "Upgrade");
  }
  RemoveHeaders(response, policy_->hide_headers);
  AppendVia(response, response.version());
  SetSecurityHeaders(response, policy_->security_headers);
  if (stream_.tls() && !policy_->hsts.empty()) {
    response.set(http::field::strict_transport_security, policy_->hsts);
  }
  response.set("X-Request-ID", request_id_);
  if (set_sticky_cookie_) {
    FormatStickyCookie(split_->sticky_cookie, sticky_release_, sticky_cookie_);
    response.insert(http::field::set_cookie, sticky_cookie_);
  }
  status_ = status;

  if (response_source_ == Framing::kNone) {
    response_sink_ = Framing::kNone;
    if (!head_request_) {  // a HEAD answer keeps the framing headers of the GET it describes
      response.erase(http::field::transfer_encoding);
      if (status / 100 == 1 || status == 204) response.erase(http::field::content_length);
    }
  } else {
    const auto& request = parser_->get();
    compress_ = policy_->gzip && AcceptsGzip(request[http::field::accept_encoding]) &&
                ShouldCompress({.request_method = request.method_string(),
                                .status = status,
                                .content_type = response[http::field::content_type],
                                .content_encoding = response[http::field::content_encoding],
                                .cache_control = response[http::field::cache_control],
                                .content_length = response_source_ == Framing::kLength
                                                      ? std::optional(response_body_left_)
                                                      : std::nullopt});
    if (compress_) {
      response.erase(http::field::content_length);
      response.set(http::field::content_encoding, "gzip");
      response.set(http::field::vary, MergeVary(response[http::field::vary], "Accept-Encoding"));
      if (auto etag = response[http::field::etag]; !etag.empty()) {
        response.set(http::field::etag, WeakenEtag(etag));
      }
      if (!gzip_) gzip_ = std::make_unique<GzipEncoder>();
      gzip_->Reset();
    }
    if (response_source_ == Framing::kLength && !compress_) {
      response_sink_ = Framing::kLength;
      response.erase(http::field::transfer_encoding);
    } else if (client_http10_) {
      response_sink_ = Framing::kUntilClose;
      response.erase(http::field::transfer_encoding);
      response.erase(http::field::content_length);
      client_keep_alive_ = false;
    } else {
      response_sink_ = Framing::kChunked;
      response.erase(http::field::content_length);
      response.set(http::field::transfer_encoding, "chunked");
    }
  }
  if (closing_) client_keep_alive_ = false;  // Shutdown() came while the request was in flight
  if (!switching) {
    if (!client_keep_alive_) {
      response.set(http::field::connection, "close");
    } else if (client_http10_) {
      response.set(http::field::connection, "keep-alive");
    }
  }
  head_out_.clear();
  AppendResponseHead(response, head_out_);
}

void ClientSession::SetUpstreamError(unsigned status, const char* error) {
  SetLocalResponse(
      status, nlohmann::ordered_json{{"error", error}, {"request_id", request_id_}}.dump(), true);
}

void ClientSession::SetLocalResponse(unsigned status, std::string body, bool keep_alive,
                                     std::string_view location) {
  ProxyResponseHead head;
  head.result(status);
  if (!location.empty()) head.set(http::field::location, location);
  head.set(http::field::content_type, "application/json");
  if (policy_) SetSecurityHeaders(head, policy_->security_headers);
  if (stream_.tls() && policy_ && !policy_->hsts.empty()) {
    head.set(http::field::strict_transport_security, policy_->hsts);
  }
  head.set(http::field::content_length, std::to_string(body.size()));
  if (!request_id_.empty()) head.set("X-Request-ID", request_id_);
  client_keep_alive_ = client_keep_alive_ && keep_alive && !closing_;
  if (!client_keep_alive_) {
    linger_ = true;  // the request (or its body) may be unread
    head.set(http::field::connection, "close");
  } else if (client_http10_) {
    head.set(http::field::connection, "keep-alive");
  }
  status_ = status;
  head_out_.clear();
  AppendResponseHead(head, head_out_);
  local_body_ = std::move(body);
}

void ClientSession::Refuse(unsigned status, std::string body) {
  // A request that could be read two ways is never forwarded, and nothing after it on this
  // connection can be trusted: answer and close.
  head_request_ = false;
  client_keep_alive_ = false;
  SetLocalResponse(status, std::move(body), false);
}

asio::awaitable<ClientSession::Next> ClientSession::WriteLocalResponse() {
  watchdog_.Arm(policy_->timeouts.idle, stream_.tcp());
  // A named array: GCC 12 miscompiles an aggregate temporary inside a co_await expression.
  const WriteBuffers buffers{
      asio::buffer(head_out_),
      asio::buffer(local_body_.data(), head_request_ ? 0 : local_body_.size())};
  auto [ec, n] = co_await stream_.Write(buffers);
  watchdog_.Disarm();
  if (!ec && !head_request_) bytes_sent_ = local_body_.size();
  LogAccess(!ec);
  if (ec) co_return Next::kClose;
  if (client_keep_alive_) co_return Next::kContinue;
  if (linger_) {
    co_await LingeringClose();
  } else {
    stream_.ShutdownSend();
  }
  co_return Next::kClose;
}

// The client may still be sending a request we did not read; closing with unread input would
// reset the connection and could destroy the answer before the client reads it.
asio::awaitable<void> ClientSession::LingeringClose() {
  stream_.ShutdownSend();
  watchdog_.Arm(ProxyLimits::kLingerTimeout, stream_.tcp());
  std::size_t discarded = 0;
  char sink[kReadChunk];
  while (discarded < kMaxLingerBytes) {
    auto [read_ec, n] = co_await stream_.tcp().async_read_some(asio::buffer(sink),
                                                               asio::as_tuple(asio::use_awaitable));
    if (read_ec) break;
    discarded += n;
  }
  watchdog_.Disarm();
}

// The record is built here (a few small copies); the JSON is formatted on the writer thread.
void ClientSession::LogAccess(bool completed) {
  CountRequest();
  if (!policy_ || policy_->access_log == nullptr) return;
  AccessRecord record;
  record.time = std::chrono::system_clock::now();
  record.request_id = request_id_;
  record.app = listener_->app;
  if (parser_ && parser_->is_header_done()) {
    const auto& head = parser_->get();
    record.method = std::string(head.method_string());
    record.path = std::string(AccessLog::PathWithoutQuery(head.target()));
  }
  record.status = status_;
  record.bytes_sent = completed ? bytes_sent_ : 0;
  record.duration_ms =
      std::chrono::duration<double, std::milli>(FinishedAt() - request_start_).count();
  if (upstream_) {
    record.upstream = upstream_->id;
    record.release = upstream_->release;
  }
  record.client = client_ip_;
  policy_->access_log->Push(std::move(record));
}

}  // namespace slipway::proxy
