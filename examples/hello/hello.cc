// hello: the demo web service that every Slipway integration test and benchmark deploys.
// Configured only from the environment (see Usage below); one io_context thread serves any
// number of connections with C++20 coroutines. Its knobs inject the faults a delivery platform
// must survive: failures, latency, a slow start, crashes, failing health checks.

#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <system_error>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr const char* kUsage =
    "usage: PORT=<0-65535> [HOST=127.0.0.1] [VERSION=dev] [FAIL_RATE=0..1] [LATENCY_MS=n]\n"
    "       [START_DELAY_MS=n] [CRASH_AFTER=n] [UNHEALTHY=1] hello\n";

// A keep-alive connection with no request in progress is closed after this long.
constexpr auto kIdleTimeout = 120s;
// Bounds a request that has started arriving (or a response being written), so a stalled
// client cannot hold a connection, or a graceful stop, forever.
constexpr auto kIoTimeout = 30s;

struct Config {
  asio::ip::address host;
  uint16_t port = 0;
  std::string version = "dev";
  double fail_rate = 0;
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds start_delay{0};
  uint64_t crash_after = 0;  // 0: never
  bool unhealthy = false;
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
  struct Conn {
    explicit Conn(tcp::socket s) : stream(std::move(s)), idle_timer(stream.get_executor()) {}
    beast::tcp_stream stream;
    asio::steady_timer idle_timer;
    bool idle = false;  // waiting for the first byte of the next request
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

      conn->stream.expires_after(kIoTimeout);
      http::request<http::string_body> req;
      auto [rec, n] =
          co_await http::async_read(conn->stream, buffer, req, asio::as_tuple(asio::use_awaitable));
      if (rec) {
        if (rec.category() == http::make_error_code(http::error::end_of_stream).category() &&
            rec != http::error::end_of_stream && rec != http::error::partial_message) {
          // Malformed request: say so once, then close.
          http::response<http::string_body> bad{http::status::bad_request, 11};
          SetBody(bad, "bad request\n");
          bad.keep_alive(false);
          co_await http::async_write(conn->stream, bad, asio::as_tuple(asio::use_awaitable));
        }
        break;
      }

      bool crash = false;
      auto res = co_await Handle(req, crash);
      // Checked after Handle: a request that was in flight when the stop began gets
      // Connection: close, so its client does not reuse a connection about to go away.
      bool keep_alive = req.keep_alive() && !stopping_;
      res.keep_alive(keep_alive);
      conn->stream.expires_after(kIoTimeout);
      auto [wec, wn] =
          co_await http::async_write(conn->stream, res, asio::as_tuple(asio::use_awaitable));
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

int main() {
  Config config = LoadConfig();
  asio::io_context io(1);
  Server server(io, std::move(config));
  return server.Run();
}
