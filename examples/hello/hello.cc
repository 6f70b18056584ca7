// hello: the demo web service that every Slipway integration test and benchmark deploys.
// Configured only from the environment (see Usage below); one io_context thread serves any
// number of connections with C++20 coroutines. Its knobs inject the faults a delivery platform
// must survive: failures, latency, a slow start, crashes, failing health checks. Its streaming
// endpoints (/ws, /upload, /download) let tests push WebSockets and large bodies through the
// proxy while the app's own memory stays flat.

#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/crc.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr const char* kUsage =
    "usage: PORT=<0-65535> [HOST=127.0.0.1] [VERSION=dev] [FAIL_RATE=0..1] [LATENCY_MS=n]\n"
    "       [START_DELAY_MS=n] [CRASH_AFTER=n] [UNHEALTHY=1] [JOURNAL_FILE=path "
    "[JOURNAL_READONLY=1]]\n       hello\n"
    "       PORT=<port> hello probe [PATH]   GET http://127.0.0.1:$PORT/PATH (default /up):\n"
    "                                        exit 0 on 2xx, else 1 (an exec health check)\n";

// A keep-alive connection with no request in progress is closed after this long.
constexpr auto kIdleTimeout = 120s;
// Bounds a request that has started arriving (or a response being written), so a stalled
// client cannot hold a connection, or a graceful stop, forever.
constexpr auto kIoTimeout = 30s;
// /upload reads and /download writes through one buffer of this size: memory stays flat
// however large the body.
constexpr std::size_t kStreamChunk = 64 * 1024;
// Bodies of the other endpoints are read whole; they have no use for one this large.
constexpr std::uint64_t kMaxSmallBody = 1024 * 1024;
constexpr std::size_t kMaxWebSocketMessage = 1024 * 1024;

struct Config {
  asio::ip::address host;
  uint16_t port = 0;
  std::string version = "dev";
  double fail_rate = 0;
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds start_delay{0};
  uint64_t crash_after = 0;  // 0: never
  bool unhealthy = false;
  // Persistent-data demo: each start appends "VERSION started" here (unless JOURNAL_READONLY);
  // GET /journal shows it.
  std::string journal_file;
};

[[noreturn]] void ConfigError(const std::string& message) {
  std::fprintf(stderr, "hello: %s\n%s", message.c_str(), kUsage);
  std::exit(2);
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

uint64_t ParseUnsigned(const char* name, std::string_view text, uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) {
    ConfigError(std::string(name) + "=" + std::string(text) + " is not an integer in 0.." +
                std::to_string(max));
  }
  return value;
}

Config LoadConfig() {
  Config c;
  const char* host = Env("HOST");
  std::string host_text = host ? host : "127.0.0.1";
  if (host_text == "localhost") host_text = "127.0.0.1";
  boost::system::error_code ec;
  c.host = asio::ip::make_address(host_text, ec);
  if (ec) ConfigError("HOST=" + host_text + " is not an IP address");

  const char* port = Env("PORT");
  if (port == nullptr) ConfigError("PORT is required");
  // 0 is accepted and means "any free port"; the listening line shows the one chosen.
  c.port = static_cast<uint16_t>(ParseUnsigned("PORT", port, 65535));

  if (const char* v = Env("VERSION")) c.version = v;
  if (const char* v = Env("FAIL_RATE")) {
    std::string text = v;
    char* end = nullptr;
    double rate = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(rate) || rate < 0 || rate > 1) {
      ConfigError("FAIL_RATE=" + text + " is not a number in 0..1");
    }
    c.fail_rate = rate;
  }
  constexpr uint64_t kMaxMs = 24 * 3600 * 1000;
  if (const char* v = Env("LATENCY_MS")) {
    c.latency = std::chrono::milliseconds(ParseUnsigned("LATENCY_MS", v, kMaxMs));
  }
  if (const char* v = Env("START_DELAY_MS")) {
    c.start_delay = std::chrono::milliseconds(ParseUnsigned("START_DELAY_MS", v, kMaxMs));
  }
  if (const char* v = Env("CRASH_AFTER")) {
    c.crash_after = ParseUnsigned("CRASH_AFTER", v, UINT64_MAX);
  }
  if (const char* v = Env("UNHEALTHY")) {
    std::string_view text = v;
    if (text == "1" || text == "true") {
      c.unhealthy = true;
    } else if (text != "0" && text != "false") {
      ConfigError("UNHEALTHY=" + std::string(text) + " is not 0 or 1");
    }
  }
  if (const char* v = Env("JOURNAL_FILE")) {
    c.journal_file = v;
  }
  // JOURNAL_READONLY=1: only show the journal (a reader of a volume another service writes).
  if (!c.journal_file.empty() && !Env("JOURNAL_READONLY")) {
    std::ofstream out(c.journal_file, std::ios::app);
    out << c.version << " started\n";
    out.flush();
    if (!out) ConfigError("JOURNAL_FILE=" + c.journal_file + " cannot be appended to");
  }
  return c;
}

std::string Endpoint(const tcp::endpoint& ep) {
  std::string addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

// Everything lives on one thread, so nothing here needs a lock.
class Server {
 public:
  Server(asio::io_context& io, Config config)
      : io_(io),
        config_(std::move(config)),
        acceptor_(io),
        signals_(io, SIGTERM, SIGINT),
        start_timer_(io),
        rng_(std::random_device{}()) {}

  // Returns the process exit code once the server has stopped.
  int Run() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (!ec) BeginStop(sig);
    });
    asio::co_spawn(io_, Start(), [this](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "hello: %s\n", ex.what());
      }
      exit_code_ = 1;
      stopping_ = true;
      signals_.cancel();
    });
    io_.run();
    return exit_code_;
  }

 private:
  // A connection, shared by its coroutine and the registry used for a graceful stop.
  struct Conn : std::enable_shared_from_this<Conn> {
    explicit Conn(tcp::socket s) : stream(std::move(s)), idle_timer(stream.get_executor()) {}
    beast::tcp_stream stream;
    asio::steady_timer idle_timer;
    bool idle = false;  // waiting for the first byte of the next request
    // Set while the connection is an open WebSocket, so a graceful stop can close it.
    websocket::stream<beast::tcp_stream&>* ws = nullptr;
    bool ws_writing = false;  // an echo is being written: the echo loop closes after it
    bool ws_closing = false;  // our close frame is on its way
  };

  asio::awaitable<void> Start() {
    if (config_.start_delay.count() > 0) {
      start_timer_.expires_after(config_.start_delay);
      co_await start_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (stopping_) co_return;  // stopped before we ever listened
    }
    tcp::endpoint ep(config_.host, config_.port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    boost::system::error_code ec;
    acceptor_.bind(ep, ec);
    if (ec) throw std::runtime_error("cannot listen on " + Endpoint(ep) + ": " + ec.message());
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    std::printf("hello %s listening on %s (pid %d)\n", config_.version.c_str(),
                Endpoint(acceptor_.local_endpoint()).c_str(), static_cast<int>(getpid()));
    std::fflush(stdout);

    for (;;) {
      auto [aec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (stopping_) co_return;
      if (aec) continue;  // e.g. EMFILE or a reset before accept: keep serving the others
      auto conn = std::make_shared<Conn>(std::move(socket));
      conns_.insert(conn.get());
      asio::co_spawn(io_, Serve(conn), asio::detached);
    }
  }

  asio::awaitable<void> Serve(std::shared_ptr<Conn> conn) {
    beast::flat_buffer buffer;
    for (;;) {
      if (buffer.size() == 0) {
        // Wait for readability separately from parsing so that a graceful stop can tell an
        // idle keep-alive connection (closed at once) from a request in progress (finished).
        conn->idle = true;
        if (stopping_) break;
        conn->stream.expires_never();
        conn->idle_timer.expires_after(kIdleTimeout);
        conn->idle_timer.async_wait([weak = std::weak_ptr<Conn>(conn)](auto ec) {
          if (auto c = weak.lock(); c && !ec) c->stream.socket().cancel();
        });
        auto [wec] = co_await conn->stream.socket().async_wait(tcp::socket::wait_read,
                                                               asio::as_tuple(asio::use_awaitable));
        conn->idle_timer.cancel();
        conn->idle = false;
        if (wec) break;
      }

      // The head first: the path decides whether the body is streamed (/upload), read whole
      // (everything else), or the connection becomes a WebSocket (/ws).
      conn->stream.expires_after(kIoTimeout);
      http::request_parser<http::empty_body> head;
      head.body_limit(boost::none);  // /upload takes any size; the others are held to less below
      auto [hec, hn] = co_await http::async_read_header(conn->stream, buffer, head,
                                                        asio::as_tuple(asio::use_awaitable));
      if (hec) {
        co_await RefuseMalformed(*conn, hec);
        break;
      }
      std::string_view path = head.get().target();
      path = path.substr(0, path.find('?'));
      if (path == "/ws" && websocket::is_upgrade(head.get())) {
        co_await ServeWebSocket(conn, head.release());
        break;
      }

      bool crash = false;
      std::optional<http::response<http::string_body>> res;
      if (path == "/upload" && head.get().method() == http::verb::post) {
        res = co_await ReadUpload(*conn, buffer, std::move(head));
        if (!res) break;  // the body could not be read: the connection is out of step
      } else {
        http::request_parser<http::string_body> parser(std::move(head));
        // Beast checks a Content-Length against the limit only while it reads the head, so
        // that is done here; a chunked body is held to the limit as it arrives.
        if (parser.content_length().value_or(0) > kMaxSmallBody) {
          co_await RefuseMalformed(*conn, http::error::body_limit);
          break;
        }
        parser.body_limit(kMaxSmallBody);
        auto [rec, n] = co_await http::async_read(conn->stream, buffer, parser,
                                                  asio::as_tuple(asio::use_awaitable));
        if (rec) {
          co_await RefuseMalformed(*conn, rec);
          break;
        }
        const auto& req = parser.get();
        bool is_get = req.method() == http::verb::get || req.method() == http::verb::head;
        if (auto bytes = QueryNumber(req.target(), "bytes");
            path == "/download" && is_get && bytes) {
          if (co_await WriteDownload(*conn, req, *bytes)) continue;
          break;
        }
        res = co_await Handle(req, crash);
        res->keep_alive(req.keep_alive());
        LogRequest(req, res->result_int());
      }
      // Checked after Handle: a request that was in flight when the stop began gets
      // Connection: close, so its client does not reuse a connection about to go away.
      bool keep_alive = res->keep_alive() && !stopping_;
      res->keep_alive(keep_alive);
      conn->stream.expires_after(kIoTimeout);
      auto [wec, wn] =
          co_await http::async_write(conn->stream, *res, asio::as_tuple(asio::use_awaitable));
      if (crash) {
        std::printf("hello %s crashing after %llu requests (CRASH_AFTER)\n",
                    config_.version.c_str(), static_cast<unsigned long long>(answered_));
        std::fflush(stdout);
        std::fflush(stderr);
        _exit(1);  // "crash": no destructors, no graceful anything
      }
      if (wec || !keep_alive) break;
    }
    boost::system::error_code ignored;
    conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    conn->stream.socket().close(ignored);
    conns_.erase(conn.get());
    MaybeFinish();
  }

  // A head or body that fails to parse gets one 400, then the connection closes.
  static asio::awaitable<void> RefuseMalformed(Conn& conn, boost::system::error_code ec) {
    if (ec.category() != http::make_error_code(http::error::end_of_stream).category() ||
        ec == http::error::end_of_stream || ec == http::error::partial_message) {
      co_return;  // the client went away: nobody to answer
    }
    http::response<http::string_body> bad{http::status::bad_request, 11};
    SetBody(bad, "bad request\n");
    bad.keep_alive(false);
    co_await http::async_write(conn.stream, bad, asio::as_tuple(asio::use_awaitable));
  }

  // The value of `name=<digits>` in the target's query, if present and at most 1 TiB.
  static std::optional<uint64_t> QueryNumber(std::string_view target, std::string_view name) {
    auto q = target.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      std::string_view param = query.substr(0, query.find('&'));
      query.remove_prefix(std::min(query.size(), param.size() + 1));
      if (param.size() <= name.size() || !param.starts_with(name) || param[name.size()] != '=') {
        continue;
      }
      std::string_view digits = param.substr(name.size() + 1);
      uint64_t value = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec != std::errc() || end != digits.data() + digits.size() || value > (1ull << 40)) {
        return std::nullopt;
      }
      return value;
    }
    return std::nullopt;
  }

  // POST /upload: the body passes through one fixed buffer, counted and checksummed (CRC-32,
  // the same as Python's zlib.crc32, so a test can check it at C speed). Answers
  // {"bytes":N,"crc32":C}; nothing when the body could not be read.
  asio::awaitable<std::optional<http::response<http::string_body>>> ReadUpload(
      Conn& conn, beast::flat_buffer& buffer, http::request_parser<http::empty_body>&& head) {
    http::request_parser<http::buffer_body> parser(std::move(head));
    parser.body_limit(boost::none);  // the endpoint exists to take bodies of any size
    std::vector<char> chunk(kStreamChunk);
    boost::crc_32_type crc;
    uint64_t bytes = 0;
    while (!parser.is_done()) {
      auto& body = parser.get().body();
      body.data = chunk.data();
      body.size = chunk.size();
      conn.stream.expires_after(kIoTimeout);
      auto [ec, n] = co_await http::async_read(conn.stream, buffer, parser,
                                               asio::as_tuple(asio::use_awaitable));
      if (ec && ec != http::error::need_buffer) {  // need_buffer: the chunk is full
        co_await RefuseMalformed(conn, ec);
        co_return std::nullopt;
      }
      std::size_t got = chunk.size() - body.size;
      crc.process_bytes(chunk.data(), got);
      bytes += got;
    }
    http::response<http::string_body> res{http::status::ok, parser.get().version()};
    res.set(http::field::server, "hello/" + config_.version);
    res.set(http::field::content_type, "application/json");
    res.body() = "{\"bytes\":" + std::to_string(bytes) +
                 ",\"crc32\":" + std::to_string(crc.checksum()) + "}\n";
    res.prepare_payload();
    res.keep_alive(parser.get().keep_alive());
    co_return res;
  }

  // GET /download?bytes=N: N bytes of the pattern 0, 1, ..., 255, 0, 1, ... (byte i is i % 256)
  // with Content-Length, written from one fixed buffer. Returns whether to keep the connection.
  asio::awaitable<bool> WriteDownload(Conn& conn, const http::request<http::string_body>& req,
                                      uint64_t bytes) {
    http::response<http::buffer_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "hello/" + config_.version);
    res.set(http::field::content_type, "application/octet-stream");
    res.content_length(bytes);
    bool keep_alive = req.keep_alive() && !stopping_;
    res.keep_alive(keep_alive);
    res.body().data = nullptr;
    res.body().more = true;
    http::response_serializer<http::buffer_body> sr{res};
    conn.stream.expires_after(kIoTimeout);
    auto [hec, hn] =
        co_await http::async_write_header(conn.stream, sr, asio::as_tuple(asio::use_awaitable));
    if (hec) co_return false;
    if (req.method() == http::verb::head) co_return keep_alive;

    // kStreamChunk is a multiple of 256, so every chunk starts the pattern at 0.
    static_assert(kStreamChunk % 256 == 0);
    std::vector<char> chunk(kStreamChunk);
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i % 256);
    for (uint64_t left = bytes;;) {
      std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(left, chunk.size()));
      res.body().data = n > 0 ? chunk.data() : nullptr;
      res.body().size = n;
      res.body().more = n > 0;
      conn.stream.expires_after(kIoTimeout);
      auto [ec, w] =
          co_await http::async_write(conn.stream, sr, asio::as_tuple(asio::use_awaitable));
      if (ec && ec != http::error::need_buffer) co_return false;
      if (n == 0) break;
      left -= n;
    }
    co_return keep_alive && !stopping_;
  }

  // GET /ws: a WebSocket that echoes every text or binary message back as "<VERSION>:<msg>",
  // so a test can see which release answered.
  asio::awaitable<void> ServeWebSocket(std::shared_ptr<Conn> conn,
                                       http::request<http::empty_body> req) {
    conn->stream.expires_never();  // the WebSocket stream keeps its own timeouts
    websocket::stream<beast::tcp_stream&> ws(conn->stream);
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = kIdleTimeout;
    timeouts.keep_alive_pings = true;  // a silent peer is pinged before it is given up on
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator(
        [server = "hello/" + config_.version](websocket::response_type& r) {
          r.set(http::field::server, server);
        }));
    ws.read_message_max(kMaxWebSocketMessage);
    // Bytes read past the head stay in Serve's buffer and are not seen by the WebSocket: a
    // client may send nothing before it has the 101 (RFC 6455, 4.1).
    auto [aec] = co_await ws.async_accept(req, asio::as_tuple(asio::use_awaitable));
    if (aec) co_return;
    conn->ws = &ws;
    if (stopping_) CloseWebSocket(conn);
    beast::flat_buffer message;
    std::string reply;
    for (;;) {
      // Ends with websocket::error::closed after either side's close frame.
      auto [rec, rn] = co_await ws.async_read(message, asio::as_tuple(asio::use_awaitable));
      if (rec) break;
      reply = config_.version + ":";
      reply += beast::buffers_to_string(message.data());
      message.consume(message.size());
      ws.text(ws.got_text());
      conn->ws_writing = true;
      auto [wec, wn] =
          co_await ws.async_write(asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
      conn->ws_writing = false;
      if (wec) break;
      if (stopping_) CloseWebSocket(conn);
    }
    conn->ws = nullptr;
  }

  // Sends a close frame (1001, going away); the echo loop's pending read then ends when the
  // peer answers it. Only when no echo is being written: one write at a time on a WebSocket.
  static void CloseWebSocket(const std::shared_ptr<Conn>& conn) {
    if (conn->ws == nullptr || conn->ws_writing || conn->ws_closing) return;
    conn->ws_closing = true;
    conn->ws->async_close(websocket::close_code::going_away,
                          [keep = conn](boost::system::error_code) {});
  }

  // One line per request that came through Slipway's proxy (it has an X-Request-ID; the
  // daemon's health probes do not), so `slipway logs --request-id` finds the app's side of it.
  void LogRequest(const http::request<http::string_body>& req, unsigned status) {
    auto id = req.find("X-Request-ID");
    if (id == req.end()) return;
    std::string_view target = req.target();
    target = target.substr(0, target.find('?'));  // the query may carry secrets
    std::printf("hello %s %.*s %.*s %u request_id=%.*s\n", config_.version.c_str(),
                static_cast<int>(req.method_string().size()), req.method_string().data(),
                static_cast<int>(target.size()), target.data(), status,
                static_cast<int>(id->value().size()), id->value().data());
    std::fflush(stdout);
  }

  template <typename Response>
  static void SetBody(Response& res, std::string body) {
    res.set(http::field::content_type, "text/plain");
    res.body() = std::move(body);
    res.prepare_payload();
  }

  asio::awaitable<http::response<http::string_body>> Handle(
      const http::request<http::string_body>& req, bool& crash) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.set(http::field::server, "hello/" + config_.version);
    bool is_get = req.method() == http::verb::get || req.method() == http::verb::head;
    std::string_view target = req.target();
    target = target.substr(0, target.find('?'));

    if ((target == "/" || target == "/up") && !is_get) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      SetBody(res, "method not allowed\n");
    } else if (target == "/up") {
      res.result(config_.unhealthy ? http::status::service_unavailable : http::status::ok);
      SetBody(res, config_.unhealthy ? "unhealthy\n" : "ok\n");
    } else if (target == "/") {
      if (config_.latency.count() > 0) {
        asio::steady_timer t(io_, config_.latency);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      if (config_.fail_rate > 0 &&
          std::uniform_real_distribution<double>(0, 1)(rng_) < config_.fail_rate) {
        res.result(http::status::internal_server_error);
        SetBody(res, "injected failure\n");
      } else {
        res.result(http::status::ok);
        SetBody(res, "Hello from " + config_.version + " (pid " + std::to_string(getpid()) +
                         ", port " + std::to_string(port_) + ")\n");
      }
      ++answered_;
      crash = config_.crash_after > 0 && answered_ >= config_.crash_after;
    } else if (target == "/journal" && is_get) {
      std::ifstream in(config_.journal_file);
      std::stringstream text;
      text << in.rdbuf();
      res.result(in && !config_.journal_file.empty() ? http::status::ok : http::status::not_found);
      SetBody(res, in ? text.str() : "no journal\n");
    } else if (target == "/flags" && is_get) {
      // The feature flags as Slipway last wrote them: read on every request, so a
      // `slipway flag set` shows here without a restart.
      res.result(http::status::ok);
      res.set(http::field::content_type, "application/json");
      std::string flags = "{}\n";
      if (const char* path = Env("SLIPWAY_FLAGS_FILE")) {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        if (in) flags = text.str();
      }
      res.body() = flags;
      res.prepare_payload();
    } else if (target == "/upload") {  // POST is streamed before it gets here
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "POST");
      SetBody(res, "method not allowed\n");
    } else if (target == "/download") {  // a valid GET is streamed before it gets here
      if (!is_get) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        SetBody(res, "method not allowed\n");
      } else {
        res.result(http::status::bad_request);
        SetBody(res, "want /download?bytes=N with N in 0..2^40\n");
      }
    } else if (target == "/ws") {  // a WebSocket handshake is taken before it gets here
      res.result(http::status::upgrade_required);
      res.set(http::field::upgrade, "websocket");
      SetBody(res, "WebSocket upgrade required\n");
    } else {
      res.result(http::status::not_found);
      SetBody(res, "not found\n");
    }
    if (req.method() == http::verb::head) {
      // Keep Content-Length from the GET answer, send no body.
      auto length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    co_return res;
  }

  void BeginStop(int sig) {
    stopping_ = true;
    boost::system::error_code ignored;
    start_timer_.cancel();
    acceptor_.close(ignored);
    size_t in_flight = 0;
    for (Conn* c : conns_) {
      if (c->idle) {
        c->stream.socket().cancel(ignored);
      } else if (c->ws != nullptr) {
        ++in_flight;
        CloseWebSocket(c->shared_from_this());
      } else {
        ++in_flight;
      }
    }
    std::printf("hello %s got %s, shutting down gracefully (%zu requests in flight)\n",
                config_.version.c_str(), sig == SIGINT ? "SIGINT" : "SIGTERM", in_flight);
    std::fflush(stdout);
    // A second signal means "now": the supervisor (or the user at a terminal) has lost patience.
    signals_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      std::printf("hello %s got a second signal, exiting now\n", config_.version.c_str());
      std::fflush(stdout);
      _exit(1);
    });
    MaybeFinish();
  }

  void MaybeFinish() {
    if (!stopping_ || !conns_.empty()) return;
    if (exit_code_ == 0) {
      std::printf("hello %s stopped\n", config_.version.c_str());
      std::fflush(stdout);
    }
    signals_.cancel();  // the last pending handler: io_context::run() now returns
  }

  asio::io_context& io_;
  Config config_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer start_timer_;
  std::mt19937_64 rng_;
  std::set<Conn*> conns_;
  uint16_t port_ = 0;
  uint64_t answered_ = 0;  // GET / answers (200 or injected 500), for CRASH_AFTER
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace

// `hello probe [PATH]`: one GET of 127.0.0.1:$PORT/PATH; says what it got on one line. For exec
// health checks in images with no shell, curl or wget (the FROM-scratch image).
int Probe(int argc, char** argv) {
  const std::string path = argc > 2 ? argv[2] : "/up";
  const char* port_text = Env("PORT");
  unsigned port = 0;
  if (port_text == nullptr ||
      std::from_chars(port_text, port_text + std::strlen(port_text), port).ec != std::errc() ||
      port == 0 || port > 65535) {
    std::printf("probe: PORT is not set to a port number\n");
    return 1;
  }
  try {
    asio::io_context io(1);
    beast::tcp_stream stream(io);
    stream.expires_after(5s);
    stream.connect(tcp::endpoint(asio::ip::address_v4::loopback(), static_cast<uint16_t>(port)));
    http::request<http::empty_body> req{http::verb::get, path, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    req.set(http::field::user_agent, "hello-probe");
    req.set(http::field::connection, "close");
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::empty_body> parser;
    parser.skip(true);
    http::read_header(stream, buffer, parser);
    const unsigned status = parser.get().result_int();
    std::printf("probe: GET %s: HTTP %u\n", path.c_str(), status);
    return status >= 200 && status < 300 ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("probe: GET %s on port %u: %s\n", path.c_str(), port, e.what());
    return 1;
  }
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "probe") return Probe(argc, argv);
  Config config = LoadConfig();
  asio::io_context io(1);
  Server server(io, std::move(config));
  return server.Run();
}
