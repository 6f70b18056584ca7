#include <gtest/gtest.h>

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
  auto backends = *pool_->Snapshot();
  EXPECT_EQ(backends[0]->inflight.load(), 0);
  EXPECT_EQ(backends[1]->inflight.load(), 0);
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
