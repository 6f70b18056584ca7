// ClientSession: one client connection, served by one coroutine on its worker's event loop (one
// thread: no strand, no lock). Each request goes through the same fixed sequence of named steps
// (see Run in client_session.cc). Bodies are streamed both ways through bounded buffers, never
// held whole; the buffers and parsers are members, reused from one request to the next.
// Internal to the proxy module.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "metrics/request_counters.h"
#include "proxy/client_stream.h"
#include "proxy/listener_state.h"
#include "proxy/proxy_fields.h"
#include "proxy/traffic_split.h"
#include "proxy/upstream_pool.h"

namespace slipway::proxy {

class GzipEncoder;

// Fixed limits of the request path (the configurable ones are in ListenerPolicy).
struct ProxyLimits {
  static constexpr std::uint32_t kUpstreamHeaderLimit = 64 * 1024;
  static constexpr std::size_t kRelayChunk = 64 * 1024;     // one read of a streamed body
  static constexpr std::chrono::seconds kLingerTimeout{2};  // draining input before close
};

// Cancels the socket it is armed on when the deadline passes. One per session, reused for every
// operation. Lazy: Arm and Disarm only move the deadline; the timer is re-armed only when a new
// deadline is earlier than the pending wait, and a wait that ends early re-waits for the rest.
// Deadlines mostly move later (a new operation starts after the last), so a busy connection
// costs a timer syscall about once per timeout period instead of once per operation.
class Watchdog {
 public:
  explicit Watchdog(const boost::asio::any_io_executor& executor) : timer_(executor) {}
  // Whom a pending wait keeps alive (locked only when a wait starts, not per Arm).
  void SetOwner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }
  // Every Arm is paired with a Disarm before `socket` may be destroyed.
  void ArmUntil(std::chrono::steady_clock::time_point deadline,
                boost::asio::ip::tcp::socket& socket);
  void Arm(std::chrono::steady_clock::duration timeout, boost::asio::ip::tcp::socket& socket) {
    ArmUntil(std::chrono::steady_clock::now() + timeout, socket);
  }
  void Disarm() { socket_ = nullptr; }
  // Cancels a pending wait, so it lets go of its owner now (the session is ending).
  void Stop();
  // True when the last armed deadline passed (the socket's operation then failed).
  bool fired() const { return fired_; }

 private:
  void Wait(std::shared_ptr<void> owner);

  boost::asio::steady_timer timer_;
  std::weak_ptr<void> owner_;
  std::chrono::steady_clock::time_point deadline_{};
  boost::asio::ip::tcp::socket* socket_ = nullptr;  // armed on; null: disarmed
  std::uint64_t generation_ = 0;                    // of the pending wait
  bool waiting_ = false;
  bool fired_ = false;
};

class ClientSession : public ClientConnection, public std::enable_shared_from_this<ClientSession> {
 public:
  using RequestParser = ProxyRequestParser;
  using ResponseParser = ProxyResponseParser;

  // `socket` is connected and belongs to one worker's io_context.
  // `open_connections`: the worker's count, raised here and lowered when the session ends.
  ClientSession(std::shared_ptr<ListenerState> listener, boost::asio::ip::tcp::socket socket,
                std::atomic<std::uint32_t>* open_connections,
                std::shared_ptr<boost::asio::ssl::context> tls);
  ~ClientSession() override;

  // Registers with the listener and spawns the session's coroutine. `tls` null: plain HTTP.
  static void Start(std::shared_ptr<ListenerState> listener, boost::asio::ip::tcp::socket socket,
                    std::atomic<std::uint32_t>* open_connections = nullptr,
                    std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  void Shutdown() override;

 private:
  enum class Next { kContinue, kClose };
  enum class Exchange { kResponse, kUnavailable, kTimeout, kAnswered, kClientGone };
  // How a body is delimited on the wire.
  enum class Framing { kNone, kLength, kChunked, kUntilClose };

  boost::asio::awaitable<void> Run();
  // The request path, in order.
  boost::asio::awaitable<bool> WaitForRequest();
  boost::asio::awaitable<Next> ReadRequestHead();
  boost::asio::awaitable<Next> ServeRequest();
  void PrepareUpstreamRequest();
  // Uses and updates lease_ (a retry moves it to another backend).
  boost::asio::awaitable<Exchange> ExchangeWithUpstream();
  void PrepareClientResponse();
  boost::asio::awaitable<Next> RelayResponse();
  boost::asio::awaitable<Next> Tunnel();  // after a 101 (WebSocket): bytes both ways

  // Local answers: a JSON body, X-Request-ID when known.
  void SetLocalResponse(unsigned status, std::string body, bool keep_alive,
                        std::string_view location = {});
  boost::asio::awaitable<Next> WriteLocalResponse();
  // Sets an answer that ends the connection (the rest of the input is unread).
  void Refuse(unsigned status, std::string body);
  void SetUpstreamError(unsigned status, const char* error);
  boost::asio::awaitable<void> LingeringClose();
  // Every request ends here exactly once (answered, or its client gone): counts it
  // (CountRequest), then writes its access log line.
  void LogAccess(bool completed);
  // The request in the RequestCounters of the backend that answered it last (its release), or
  // in the listener's own when the proxy answered without a backend.
  void CountRequest();

  // The request's group (routing header, sticky cookie, weight: traffic_split.h) and a backend
  // in it, or in the other group when it has none; sets group_ and the sticky cookie to send.
  BackendLease RouteRequest();
  // A backend from `group` other than `exclude` (the policy's balancer), else, when `fall_back`,
  // from the other group; `group` is set to where it came from.
  BackendLease PickBackend(ReleaseGroup& group, const Backend* exclude, bool fall_back);
  const BackendList& GroupBackends(ReleaseGroup group) const {
    return group == ReleaseGroup::kCanary ? split_->canary : split_->stable;
  }
  // The outcome of a request to a backend of group_, for passive health (the ejection cap is
  // judged within the group).
  void RecordOutcome(Backend& backend, UpstreamOutcome outcome,
                     std::chrono::steady_clock::time_point now);
  // One attempt's answer (or the proxy's 502/504 for it) in `backend`'s release window, when it
  // has one; latency from request_start_ to `now`. `now` defaults to FinishedAt().
  void RecordInWindow(const Backend& backend, unsigned status,
                      std::chrono::steady_clock::time_point now = {});
  // A failed connect to `backend`, and a request sent again after `backend` failed it, in the
  // backend's RequestCounters (its release).
  void CountConnectError(const Backend& backend);
  void CountRetry(const Backend& backend, metrics::RetryReason reason);
  // When the request ended (its answer's last byte, or the switch to a tunnel): read once, on
  // first use, and shared by the access log and the release window.
  std::chrono::steady_clock::time_point FinishedAt();

  // Arms the watchdog on `socket` for `op`, capped by what is left of the request's total budget.
  void Guard(std::chrono::milliseconds op, boost::asio::ip::tcp::socket& socket);

  // Upstream side (upstream_exchange.cc).
  struct RoundTrip {
    boost::system::error_code error;
    bool timed_out = false;
    bool request_sent = false;      // some request byte was written
    bool response_started = false;  // some response byte was read
    bool client_failed = false;     // the client's body could not be read (it left)
    bool body_too_large = false;    // the client's chunked body passed the limit (answered 413)
    bool answered_early = false;    // the upstream answered before the whole body was sent
  };
  boost::asio::awaitable<boost::system::error_code> Connect(UpstreamConnection& connection,
                                                            const Backend& backend);
  boost::asio::awaitable<RoundTrip> SendAndReceiveHead(UpstreamConnection& connection);
  boost::asio::awaitable<RoundTrip> SendRequestBody(UpstreamConnection& connection);
  boost::asio::awaitable<boost::system::error_code> ReadResponseHead(UpstreamConnection& connection,
                                                                     RoundTrip& trip);

  // Body relays (body_relay.cc).
  struct Piece {
    boost::system::error_code error;
    std::string_view data;
    bool last = false;
  };
  boost::asio::awaitable<Piece> NextResponsePiece();
  void ConsumeResponsePiece(std::size_t n);
  boost::asio::awaitable<boost::system::error_code> WriteClientPiece(std::string_view data,
                                                                     bool last);
  boost::asio::awaitable<boost::system::error_code> Send100Continue();
  struct DecodeResult {
    std::size_t size = 0;      // decoded bytes now at the start of chunk_buffer_
    bool client_gone = false;  // the client closed or timed out
    bool refused = false;      // bad chunk framing or over the limit: the local answer is set
  };
  boost::asio::awaitable<DecodeResult> DecodeRequestChunk(bool fill);
  // A chunked body that ends within one relay chunk is read whole before anything is sent and
  // forwarded with a Content-Length (replayable, and never half-forwarded when malformed).
  boost::asio::awaitable<Next> PrebufferChunkedBody();

  const std::shared_ptr<ListenerState> listener_;
  std::atomic<std::uint32_t>* const worker_connections_;  // may be null
  ClientStream stream_;
  Watchdog watchdog_;
  std::string client_ip_;
  ListenerState::Registry::iterator registration_;
  bool registered_ = false;

  // Per-connection state reused across requests.
  boost::beast::flat_buffer buffer_;  // client input
  std::optional<RequestParser> parser_;
  std::string head_out_;               // a serialized head waiting to be written
  std::string local_body_;             // a local answer's body
  std::vector<char> chunk_buffer_;     // decoded chunks (chunked bodies only)
  std::unique_ptr<GzipEncoder> gzip_;  // made on first use
  std::string gzip_out_;
  std::string sticky_cookie_;  // a Set-Cookie value being sent
  std::unique_ptr<UpstreamConnection> upstream_connection_;
  std::optional<ResponseParser> response_parser_;
  std::string request_id_;
  bool first_request_ = true;
  bool client_keep_alive_ = false;
  bool client_http10_ = false;
  bool linger_ = false;  // read and discard input before closing (the request was not read)

  // Per request.
  std::shared_ptr<const ListenerPolicy> policy_;  // loaded once per request
  std::shared_ptr<const TrafficSplit> split_;     // the pool as this request found it
  std::chrono::steady_clock::time_point request_start_;
  std::chrono::steady_clock::time_point finished_at_;  // see FinishedAt(); {}: not yet
  std::chrono::steady_clock::time_point deadline_;     // request_start_ + timeouts.total
  std::shared_ptr<Backend> upstream_;  // the backend the request went to; null: answered locally
  // Holds the backend's in-flight count from the pick until the answer's last byte is relayed,
  // so a draining replica is not stopped under a streaming body. Released before a WebSocket
  // tunnel: open sockets do not hold a drain (the replica closes them on SIGTERM).
  BackendLease lease_;
  ReleaseGroup group_ = ReleaseGroup::kStable;  // lease_'s group (a retry may move it)
  bool set_sticky_cookie_ = false;              // the answer pins the client to sticky_release_
  std::int64_t sticky_release_ = 0;
  bool head_request_ = false;
  metrics::HttpMethod method_ = metrics::HttpMethod::kOther;  // for the request counters
  bool upgrade_requested_ = false;                            // WebSocket upgrade asked for
  Framing request_framing_ = Framing::kNone;
  std::uint64_t request_body_left_ = 0;       // kLength: bytes not yet sent upstream
  bool body_in_buffer_ = false;               // the whole body is in memory (replayable)
  bool chunked_in_memory_ = false;            // a chunked body decoded whole into chunk_buffer_
  std::size_t chunk_pending_ = 0;             // decoded bytes in chunk_buffer_ not yet sent
  bool expect_continue_ = false;              // the client waits for 100 Continue
  unsigned status_ = 0;                       // the status sent (or being sent) to the client
  Framing response_source_ = Framing::kNone;  // how the upstream delimits its body
  Framing response_sink_ = Framing::kNone;    // how the client gets it
  std::uint64_t response_body_left_ = 0;      // kLength source: bytes still to relay
  bool compress_ = false;
  bool upstream_reusable_ = false;
  std::uint64_t bytes_sent_ = 0;  // response body bytes written to the client

  // Touched on the session's thread only.
  bool idle_ = false;       // waiting for the next request's first byte
  bool closing_ = false;    // Shutdown() was asked
  bool tunneling_ = false;  // relaying a WebSocket: Shutdown() ends it
};

}  // namespace slipway::proxy
