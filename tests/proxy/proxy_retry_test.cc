#include <sys/socket.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "proxy_test_fixture.h"

namespace slipway::proxy::testing {
namespace {

std::shared_ptr<Backend> DeadBackend() {
  auto dead = std::make_shared<Backend>();
  dead->id = "dead";
  dead->port = ClosedPort();
  return dead;
}

TEST_F(ProxyTest, ConnectFailureRetriesGetOnTheOtherBackend) {
  TestBackend live("live");
  StartProxy({DeadBackend(), live.MakeBackend()});
  TestClient client = Client();
  for (int i = 0; i < 10; ++i) {
    Message response = client.RoundTrip(Get());
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.body, "live");
  }
  // A request counts as in flight until its answer's last byte is relayed, which is just after
  // the client can read it.
  auto backends = pool_->Snapshot()->stable;
  EXPECT_TRUE(WaitFor([&] { return backends[1]->inflight.load() == 0; }));
  EXPECT_EQ(backends[0]->inflight.load(), 0);
}

TEST_F(ProxyTest, PostWhoseConnectFailedGoesToAnotherBackend) {
  // A failed connect sent nothing, so even a non-idempotent request is safe to send elsewhere.
  TestBackend live("live");
  StartProxy({DeadBackend(), live.MakeBackend()});
  TestClient client = Client();
  std::string post = "POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nhi";
  for (int i = 0; i < 4; ++i) {
    Message response = client.RoundTrip(post);
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.body, "live");
  }
  EXPECT_EQ(live.requests(), 4);
}

TEST_F(ProxyTest, PostToTheOnlyDeadBackendIs502AndTheConnectionSurvives) {
  TestBackend live("live");
  auto dead = DeadBackend();
  StartProxy({dead});
  TestClient client = Client();
  std::string post = "POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nhi";
  Message failed = client.RoundTrip(post);
  EXPECT_EQ(failed.status, 502);
  EXPECT_EQ(failed.Header("Content-Type"), "application/json");
  EXPECT_EQ(failed.body, R"({"error":"upstream unavailable","request_id":")" +
                             failed.Header("X-Request-ID") + "\"}");
  pool_->Publish({live.MakeBackend()});
  Message ok = client.RoundTrip(post);  // the client connection survives a 502
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(live.requests(), 1);
}

TEST_F(ProxyTest, OnlyBackendDeadIs502ForGet) {
  StartProxy({DeadBackend()});
  TestClient client = Client();
  EXPECT_EQ(client.RoundTrip(Get()).status, 502);
}

TEST_F(ProxyTest, StalePooledConnectionIsRetriedOnAFreshOne) {
  TestBackend closer("closer");
  closer.set_close_after_response(true);  // promises keep-alive, then closes
  StartProxy({closer.MakeBackend()});
  TestClient client = Client();
  for (int i = 0; i < 3; ++i) {
    // Let the backend's close reach the proxy's pooled socket first.
    ASSERT_TRUE(WaitFor([&] { return closer.accepts() == i; }));
    Message response = client.RoundTrip(Get());
    ASSERT_EQ(response.status, 200) << response.body;
  }
  EXPECT_EQ(closer.requests(), 3);
  EXPECT_EQ(closer.accepts(), 3);
}

}  // namespace
}  // namespace slipway::proxy::testing

namespace slipway::proxy::testing {
namespace {

// Accepts connections, reads the request, and closes without answering: a replica that dies
// while a request is in flight.
class DyingBackend {
 public:
  DyingBackend() : acceptor_(io_, {boost::asio::ip::address_v4::loopback(), 0}) {
    thread_ = std::thread([this] {
      for (;;) {
        boost::asio::ip::tcp::socket socket(io_);
        boost::system::error_code ec;
        acceptor_.accept(socket, ec);
        if (ec) return;
        char buf[4096];
        socket.read_some(boost::asio::buffer(buf), ec);
        ++requests_;
        socket.close();
      }
    });
  }
  ~DyingBackend() {
    // shutdown() wakes the thread blocked in accept(); a close() from here would not.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }
  std::shared_ptr<Backend> MakeBackend() const {
    auto b = std::make_shared<Backend>();
    b->id = "dying";
    b->port = acceptor_.local_endpoint().port();
    return b;
  }
  int requests() const { return requests_; }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

TEST_F(ProxyTest, GetToAReplicaDyingMidRequestIsRetriedElsewherePostIsNot) {
  DyingBackend dying;
  TestBackend live("live");
  StartProxy({dying.MakeBackend(), live.MakeBackend()});
  TestClient client = Client();
  for (int i = 0; i < 4; ++i) {
    Message response = client.RoundTrip(Get());
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.body, "live");
  }
  EXPECT_GE(dying.requests(), 1);
  // A POST may have been processed before the replica died: never sent twice.
  int live_before = live.requests();
  std::string post = "POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nhi";
  bool saw_502 = false;
  for (int i = 0; i < 2; ++i) {  // round robin: one of the two goes to the dying backend
    Message response = client.RoundTrip(post);
    if (response.status == 502) saw_502 = true;
  }
  EXPECT_TRUE(saw_502);
  EXPECT_EQ(live.requests(), live_before + 1);
}

}  // namespace
}  // namespace slipway::proxy::testing
