// Response header rules per listener: security headers (defaults, app wins unless override,
// CSP, disabled), hidden upstream headers, Via both ways, and Slipway's own answers.
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy_test_fixture.h"

namespace slipway::proxy::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A backend that answers every request with the same raw response and keeps the last raw
// request head. Requests must have no body.
class ScriptedBackend {
 public:
  explicit ScriptedBackend(std::string response)
      : response_(std::move(response)),
        acceptor_(io_, {asio::ip::address_v4::loopback(), 0}),
        work_(io_.get_executor()) {
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ScriptedBackend() {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }

  std::shared_ptr<Backend> MakeBackend() const {
    auto b = std::make_shared<Backend>();
    b->id = "scripted";
    b->port = acceptor_.local_endpoint().port();
    return b;
  }
  std::string last_request() const {
    std::lock_guard lock(mu_);
    return last_request_;
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
    }
  }
  asio::awaitable<void> Serve(tcp::socket socket) {
    asio::streambuf buffer;
    for (;;) {
      auto [ec, n] = co_await asio::async_read_until(socket, buffer, "\r\n\r\n",
                                                     asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      std::string head(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + n);
      buffer.consume(n);
      {
        std::lock_guard lock(mu_);
        last_request_ = head;
      }
      auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(response_),
                                                  asio::as_tuple(asio::use_awaitable));
      if (wec) co_return;
    }
  }

  const std::string response_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::string last_request_;
};

// The value of `name` in a raw request head ("" when absent); names compared exactly.
std::string RawHeader(const std::string& head, const std::string& name) {
  std::size_t at = head.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "";
  at += name.size() + 4;
  return head.substr(at, head.find("\r\n", at) - at);
}

constexpr const char* kLeakyResponse =
    "HTTP/1.1 200 OK\r\n"
    "Content-Length: 2\r\n"
    "Server: gunicorn/20.1\r\n"
    "X-Powered-By: PHP/8.1\r\n"
    "X-Frame-Options: SAMEORIGIN\r\n"
    "Via: 1.0 cdn\r\n"
    "\r\n"
    "ok";

class SecurityHeadersTest : public ProxyTest {
 protected:
  void StartProxyWith(BackendList backends, ListenerOptions options) {
    pool_->Publish(std::move(backends));
    server_ = std::make_unique<ProxyServer>(1);
    options.app = "hello";
    options.listen = "127.0.0.1:0";
    options.pool = pool_;
    Status added = server_->AddListener(options);
    ASSERT_TRUE(added.ok()) << added.error().message;
    std::string bound = server_->BoundAddress("hello");
    port_ = static_cast<std::uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
  }
};

void ExpectDefaultSecurityHeaders(const Message& response) {
  EXPECT_EQ(response.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(response.Header("X-Frame-Options"), "DENY");
  EXPECT_EQ(response.Header("Referrer-Policy"), "strict-origin-when-cross-origin");
  EXPECT_FALSE(response.Has("Content-Security-Policy"));
}

TEST_F(SecurityHeadersTest, DefaultsOnEveryProxiedResponse) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  Message response = Client().RoundTrip(Get());
  ASSERT_EQ(response.status, 200);
  ExpectDefaultSecurityHeaders(response);
  EXPECT_EQ(response.Header("Via"), "1.1 slipway");
  EXPECT_FALSE(response.Has("Server"));
}

TEST_F(SecurityHeadersTest, AppValueWinsAndLeaksAreRemoved) {
  ScriptedBackend backend(kLeakyResponse);
  StartProxy({backend.MakeBackend()});
  Message response = Client().RoundTrip(Get());
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("X-Frame-Options"), "SAMEORIGIN");  // the app's own
  EXPECT_EQ(response.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_FALSE(response.Has("Server"));
  EXPECT_FALSE(response.Has("X-Powered-By"));
  EXPECT_EQ(response.Header("Via"), "1.0 cdn, 1.1 slipway");
  EXPECT_EQ(response.body, "ok");
}

TEST_F(SecurityHeadersTest, OverrideReplacesTheAppValue) {
  ScriptedBackend backend(kLeakyResponse);
  ListenerOptions options;
  options.security_headers.override = true;
  StartProxyWith({backend.MakeBackend()}, options);
  Message response = Client().RoundTrip(Get());
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("X-Frame-Options"), "DENY");
  int frame_options = 0;
  for (const auto& [name, value] : response.headers) frame_options += name == "X-Frame-Options";
  EXPECT_EQ(frame_options, 1);
}

TEST_F(SecurityHeadersTest, ContentSecurityPolicyWhenConfigured) {
  TestBackend a("a");
  ListenerOptions options;
  options.security_headers.content_security_policy = "default-src 'self'";
  options.security_headers.frame_options = "";  // omitted
  options.security_headers.referrer_policy = "no-referrer";
  StartProxyWith({a.MakeBackend()}, options);
  Message response = Client().RoundTrip(Get());
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("Content-Security-Policy"), "default-src 'self'");
  EXPECT_FALSE(response.Has("X-Frame-Options"));
  EXPECT_EQ(response.Header("Referrer-Policy"), "no-referrer");
}

TEST_F(SecurityHeadersTest, DisabledAddsNone) {
  ScriptedBackend backend(kLeakyResponse);
  ListenerOptions options;
  options.security_headers.enabled = false;
  options.security_headers.content_security_policy = "default-src 'self'";
  StartProxyWith({backend.MakeBackend()}, options);
  TestClient client = Client();
  Message response = client.RoundTrip(Get());
  ASSERT_EQ(response.status, 200);
  EXPECT_FALSE(response.Has("X-Content-Type-Options"));
  EXPECT_FALSE(response.Has("Referrer-Policy"));
  EXPECT_FALSE(response.Has("Content-Security-Policy"));
  EXPECT_EQ(response.Header("X-Frame-Options"), "SAMEORIGIN");  // the app's, untouched
  EXPECT_FALSE(response.Has("Server"));                         // hiding is separate

  pool_->Publish({});
  Message local = client.RoundTrip(Get());
  ASSERT_EQ(local.status, 503);
  EXPECT_FALSE(local.Has("X-Content-Type-Options"));
  EXPECT_FALSE(local.Has("X-Frame-Options"));
}

TEST_F(SecurityHeadersTest, HideHeadersListReplacesTheDefault) {
  ScriptedBackend backend(kLeakyResponse);
  ListenerOptions options;
  options.hide_headers = {"x-powered-by", "VIA"};  // case-insensitive
  StartProxyWith({backend.MakeBackend()}, options);
  Message response = Client().RoundTrip(Get());
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("Server"), "gunicorn/20.1");
  EXPECT_FALSE(response.Has("X-Powered-By"));
  EXPECT_EQ(response.Header("Via"), "1.1 slipway");  // the upstream's Via was hidden first
}

TEST_F(SecurityHeadersTest, ViaIsAppendedToTheForwardedRequest) {
  ScriptedBackend backend(kLeakyResponse);
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  ASSERT_EQ(client.RoundTrip(Get()).status, 200);
  EXPECT_EQ(RawHeader(backend.last_request(), "Via"), "1.1 slipway");

  ASSERT_EQ(client.RoundTrip(Get("/", "Via: 1.1 edge\r\nVia: 1.0 lb\r\n")).status, 200);
  EXPECT_EQ(RawHeader(backend.last_request(), "Via"), "1.1 edge, 1.0 lb, 1.1 slipway");

  TestClient http10 = Client();
  ASSERT_EQ(http10.RoundTrip("GET / HTTP/1.0\r\nHost: app.test\r\n\r\n").status, 200);
  EXPECT_EQ(RawHeader(backend.last_request(), "Via"), "1.0 slipway");  // the version received
}

TEST_F(SecurityHeadersTest, SlipwaysOwnAnswersCarryTheHeaders) {
  StartProxy({});
  TestClient client = Client();
  Message unavailable = client.RoundTrip(Get());
  ASSERT_EQ(unavailable.status, 503);
  ExpectDefaultSecurityHeaders(unavailable);

  auto dead = std::make_shared<Backend>();
  dead->id = "dead";
  dead->port = ClosedPort();
  pool_->Publish({dead});
  Message bad_gateway = client.RoundTrip(Get());
  ASSERT_EQ(bad_gateway.status, 502);
  ExpectDefaultSecurityHeaders(bad_gateway);
  EXPECT_FALSE(bad_gateway.Has("Via"));  // not a forwarded message
}

TEST_F(SecurityHeadersTest, ARedeployChangesThePolicyWithoutRebinding) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  TestClient client = Client();  // an open keep-alive connection sees the change too
  EXPECT_FALSE(client.RoundTrip(Get()).Has("Content-Security-Policy"));

  ListenerOptions options{"hello", "127.0.0.1:0", pool_};
  options.security_headers.content_security_policy = "default-src 'none'";
  ASSERT_TRUE(server_->AddListener(options).ok());
  EXPECT_EQ(server_->BoundAddress("hello"), "127.0.0.1:" + std::to_string(port_));
  EXPECT_EQ(client.RoundTrip(Get()).Header("Content-Security-Policy"), "default-src 'none'");
}

}  // namespace
}  // namespace slipway::proxy::testing
