// ClientSession: one client connection, served by one coroutine on its own strand. Each request
// goes through the same fixed sequence of named steps (see Run in client_session.cc); the
// buffers and message objects are members, reused from one request to the next.
// Internal to the proxy module.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "proxy/listener_state.h"
#include "proxy/upstream_pool.h"

namespace slipway::proxy {

// Limits and timeouts of the request path.
struct ProxyLimits {
  static constexpr std::uint32_t kHeaderLimit = 16 * 1024;
  static constexpr std::uint64_t kRequestBodyLimit = 16 * 1024 * 1024;
  static constexpr std::uint64_t kResponseBodyLimit = 256 * 1024 * 1024;
  static constexpr std::chrono::seconds kHeaderTimeout{30};    // first byte to end of head
  static constexpr std::chrono::seconds kIdleTimeout{75};      // keep-alive wait between requests
  static constexpr std::chrono::seconds kBodyTimeout{60};      // whole request body
  static constexpr std::chrono::seconds kConnectTimeout{10};   // to a backend
  static constexpr std::chrono::seconds kUpstreamTimeout{60};  // request sent to response read
  static constexpr std::chrono::seconds kWriteTimeout{60};     // whole response to the client
  static constexpr std::chrono::seconds kLingerTimeout{2};     // draining input before close
};

// Cancels the socket it is armed on when the deadline passes. One per session, reused.
class Watchdog {
 public:
  explicit Watchdog(const boost::asio::any_io_executor& strand) : timer_(strand) {}
  // `owner` is kept alive until the timer's handler has run. Every Arm is paired with a Disarm
  // before `socket` may be destroyed.
  void Arm(std::chrono::steady_clock::duration timeout, boost::asio::ip::tcp::socket& socket,
           std::shared_ptr<void> owner);
  void Disarm();
  // True when the last armed deadline passed (the socket's operation then failed).
  bool fired() const { return fired_; }

 private:
  boost::asio::steady_timer timer_;
  std::uint64_t generation_ = 0;
  bool fired_ = false;
};

class ClientSession : public ClientConnection, public std::enable_shared_from_this<ClientSession> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  // `socket` is connected and bound to this session's own strand.
  ClientSession(std::shared_ptr<ListenerState> listener, boost::asio::ip::tcp::socket socket);
  ~ClientSession() override;

  // Registers with the listener and spawns the session's coroutine.
  static void Start(std::shared_ptr<ListenerState> listener, boost::asio::ip::tcp::socket socket);
  void Shutdown() override;

 private:
  enum class Next { kContinue, kClose };
  enum class Exchange { kResponse, kUnavailable, kTimeout };

  boost::asio::awaitable<void> Run();
  // The request path, in order.
  boost::asio::awaitable<bool> WaitForRequest();
  boost::asio::awaitable<Next> ReadRequestHead();
  boost::asio::awaitable<Next> ReadRequestBody();
  void PrepareUpstreamRequest();
  boost::asio::awaitable<Exchange> ExchangeWithUpstream(BackendLease lease);
  void PrepareClientResponse();
  boost::asio::awaitable<Next> WriteResponse();
  // Error answers: a JSON body, X-Request-ID when known.
  void SetErrorResponse(unsigned status, std::string body, bool keep_alive);
  // Answers 400 with `reason` and ends the connection.
  boost::asio::awaitable<Next> RefuseRequest(std::string_view reason);
  // 502/504 with the request id in the JSON body; the client connection stays open.
  void SetUpstreamError(unsigned status, const char* error);
  boost::asio::awaitable<void> LingeringClose();
  // Hands the answer just written (or not, on `write_error`) to the listener's access log.
  void LogAccess(const boost::system::error_code& write_error);

  // Upstream round trip helpers (upstream_exchange.cc).
  struct RoundTrip {
    boost::system::error_code error;
    bool timed_out = false;
    bool response_started = false;  // some response byte was read
    bool reusable = false;          // the connection may carry another request
  };
  boost::asio::awaitable<boost::system::error_code> Connect(UpstreamConnection& connection,
                                                            const Backend& backend);
  boost::asio::awaitable<RoundTrip> SendAndReceive(UpstreamConnection& connection);

  const std::shared_ptr<ListenerState> listener_;
  boost::asio::ip::tcp::socket socket_;
  Watchdog watchdog_;
  std::string client_ip_;
  ListenerState::Registry::iterator registration_;
  bool registered_ = false;

  // Per-connection state reused across requests.
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  Request request_;
  Response response_;
  std::string request_id_;
  bool first_request_ = true;
  bool head_request_ = false;
  bool client_keep_alive_ = false;
  bool client_http10_ = false;
  bool linger_ = false;  // read and discard input before closing (the request was not read)
  // Per request, for the response header rules and the access log.
  std::shared_ptr<const ResponsePolicy> policy_;  // loaded once per request
  std::chrono::steady_clock::time_point request_start_;
  std::shared_ptr<Backend> upstream_;  // the backend the request went to; null: answered locally
  bool request_read_ = false;          // request_ holds this request (else parser_, if anything)

  // Touched on the strand only.
  bool idle_ = false;     // waiting for the next request's first byte
  bool closing_ = false;  // Shutdown() was asked
};

}  // namespace slipway::proxy
