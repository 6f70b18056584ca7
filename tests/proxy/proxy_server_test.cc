#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "proxy_test_fixture.h"

namespace slipway::proxy::testing {
namespace {

bool IsHex32(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

TEST_F(ProxyTest, RoundRobinAcrossTwoBackends) {
  TestBackend a("a"), b("b");
  options_.balancing = Balancing::kRoundRobin;
  StartProxy({a.MakeBackend(), b.MakeBackend()});
  TestClient client = Client();
  std::map<std::string, int> served;
  std::string previous;
  for (int i = 0; i < 6; ++i) {
    Message response = client.RoundTrip(Get());
    ASSERT_EQ(response.status, 200);
    EXPECT_NE(response.body, previous);  // strictly alternating
    previous = response.body;
    ++served[response.body];
  }
  EXPECT_EQ(served["a"], 3);
  EXPECT_EQ(served["b"], 3);
  EXPECT_EQ(pool_->Snapshot()->stable[0]->requests.load(), 3u);
}

TEST_F(ProxyTest, LeastRequestsSendsNewRequestsAwayFromABusyBackend) {
  TestBackend a("a"), b("b");
  StartProxy({a.MakeBackend(), b.MakeBackend()});  // least requests: the default
  a.Hold();  // a's answers wait: requests to it stay in flight
  std::thread held([&] {
    TestClient client(port_);
    EXPECT_EQ(client.RoundTrip(Get()).body, "a");
  });
  auto backends = pool_->Snapshot()->stable;
  ASSERT_TRUE(WaitFor([&] { return backends[0]->inflight.load() == 1; }));
  TestClient client = Client();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(client.RoundTrip(Get()).body, "b");  // never a
  a.Release();
  held.join();
}

TEST_F(ProxyTest, EmptyPoolAnswers503JsonAndKeepsTheConnection) {
  StartProxy({});
  TestClient client = Client();
  for (int i = 0; i < 2; ++i) {
    Message response = client.RoundTrip(Get());
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(response.Header("Content-Type"), "application/json");
    EXPECT_EQ(response.body, R"({"error":"no ready replicas","app":"hello"})");
    EXPECT_TRUE(IsHex32(response.Header("X-Request-ID")));
    EXPECT_NE(response.Header("Connection"), "close");
  }
}

TEST_F(ProxyTest, RequestIdIsGeneratedKeptOrReplacedAndEchoed) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  TestClient client = Client();

  Message generated = client.RoundTrip(Get());
  std::string id = generated.Header("X-Request-ID");
  EXPECT_TRUE(IsHex32(id)) << id;
  EXPECT_EQ(a.last_request().Header("X-Request-ID"), id);

  Message kept = client.RoundTrip(Get("/", "X-Request-ID: trace-42.a:b_c\r\n"));
  EXPECT_EQ(kept.Header("X-Request-ID"), "trace-42.a:b_c");
  EXPECT_EQ(a.last_request().Header("X-Request-ID"), "trace-42.a:b_c");

  Message replaced = client.RoundTrip(Get("/", "X-Request-ID: bad id!\r\n"));
  std::string new_id = replaced.Header("X-Request-ID");
  EXPECT_TRUE(IsHex32(new_id)) << new_id;
  EXPECT_EQ(a.last_request().Header("X-Request-ID"), new_id);
}

TEST_F(ProxyTest, SetsForwardedHeaders) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  TestClient client = Client();
  ASSERT_EQ(client.RoundTrip(Get()).status, 200);
  Message seen = a.last_request();
  EXPECT_EQ(seen.Header("X-Forwarded-For"), "127.0.0.1");
  EXPECT_EQ(seen.Header("X-Forwarded-Proto"), "http");
  EXPECT_EQ(seen.Header("X-Forwarded-Host"), "app.test");
  EXPECT_EQ(seen.Header("Host"), "app.test");

  ASSERT_EQ(client.RoundTrip(Get("/", "X-Forwarded-For: 203.0.113.9\r\n")).status, 200);
  EXPECT_EQ(a.last_request().Header("X-Forwarded-For"), "203.0.113.9, 127.0.0.1");
}

TEST_F(ProxyTest, RemovesHopByHopHeadersBothWays) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  TestClient client = Client();
  Message response = client.RoundTrip(Get("/",
                                          "Connection: keep-alive, X-Client-Hop\r\n"
                                          "X-Client-Hop: 1\r\n"
                                          "Keep-Alive: timeout=300\r\n"
                                          "Proxy-Connection: keep-alive\r\n"
                                          "TE: trailers\r\n"
                                          "Trailer: X-Sum\r\n"
                                          "Upgrade: websocket\r\n"
                                          "X-End-To-End: yes\r\n"));
  ASSERT_EQ(response.status, 200);
  Message seen = a.last_request();
  for (const char* hop : {"Connection", "X-Client-Hop", "Keep-Alive", "Proxy-Connection", "TE",
                          "Trailer", "Upgrade"}) {
    EXPECT_FALSE(seen.Has(hop)) << hop;
  }
  EXPECT_EQ(seen.Header("X-End-To-End"), "yes");
  // The backend answered with "Connection: keep-alive, X-Backend-Hop" and "Keep-Alive".
  EXPECT_FALSE(response.Has("X-Backend-Hop"));
  EXPECT_FALSE(response.Has("Keep-Alive"));
  EXPECT_FALSE(response.Has("Connection"));
  EXPECT_EQ(response.Header("X-Backend"), "a");
}

TEST_F(ProxyTest, KeepAliveIsReusedOnBothSides) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  TestClient client = Client();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(client.RoundTrip(Get()).body, "a");
  EXPECT_EQ(a.requests(), 5);
  EXPECT_EQ(a.accepts(), 1);  // one upstream connection for all five

  TestClient second = Client();  // a new client connection reuses the pooled one too
  ASSERT_EQ(second.RoundTrip(Get()).body, "a");
  EXPECT_EQ(a.accepts(), 1);
}

TEST_F(ProxyTest, Http10ClientGetsCloseUnlessItAsksForKeepAlive) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  {
    TestClient client = Client();
    Message response = client.RoundTrip("GET / HTTP/1.0\r\nHost: app.test\r\n\r\n");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.Header("Connection"), "close");
    EXPECT_TRUE(client.ServerClosed());
  }
  {
    TestClient client = Client();
    std::string keep = "GET / HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n";
    Message response = client.RoundTrip(keep);
    EXPECT_EQ(response.Header("Connection"), "keep-alive");
    EXPECT_EQ(client.RoundTrip(keep).status, 200);
  }
  {
    TestClient client = Client();
    Message response = client.RoundTrip(Get("/", "Connection: close\r\n"));
    EXPECT_EQ(response.Header("Connection"), "close");
    EXPECT_TRUE(client.ServerClosed());
  }
}

TEST_F(ProxyTest, PostBodyAndHeadAreForwarded) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  TestClient client = Client();
  Message posted = client.RoundTrip(
      "POST /items HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(posted.status, 200);
  Message seen = a.last_request();
  EXPECT_EQ(seen.start_line, "POST /items HTTP/1.1");
  EXPECT_EQ(seen.body, "hello");
  EXPECT_EQ(seen.Header("Content-Length"), "5");
  EXPECT_FALSE(seen.Has("Transfer-Encoding"));

  Message head = client.RoundTrip("HEAD / HTTP/1.1\r\nHost: app.test\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Content-Length"), "1");  // the GET body "a"
  EXPECT_EQ(client.RoundTrip(Get()).body, "a");   // and the connection is still in sync
}

TEST_F(ProxyTest, DrainingBackendGetsNoNewRequestsAndInflightReturnsToZero) {
  TestBackend a("a"), b("b");
  StartProxy({a.MakeBackend(), b.MakeBackend()});
  auto backends = pool_->Snapshot()->stable;

  // One request held in flight at whichever backend the first pick is (a).
  a.Hold();
  std::thread held([&] {
    TestClient client(port_);
    Message response = client.RoundTrip(Get());
    EXPECT_EQ(response.body, "a");
  });
  ASSERT_TRUE(WaitFor([&] { return backends[0]->inflight.load() == 1; }));
  backends[0]->draining = true;

  TestClient client = Client();
  for (int i = 0; i < 4; ++i) ASSERT_EQ(client.RoundTrip(Get()).body, "b");
  EXPECT_EQ(a.requests(), 1);
  a.Release();
  held.join();
  EXPECT_TRUE(WaitFor([&] { return backends[0]->inflight.load() == 0; }));
  EXPECT_TRUE(WaitFor([&] { return backends[1]->inflight.load() == 0; }));
  EXPECT_EQ(backends[0]->requests.load(), 1u);
  EXPECT_EQ(backends[1]->requests.load(), 4u);
}

TEST_F(ProxyTest, OversizeBodyIs413) {
  TestBackend a("a");
  options_.limits.max_request_body = 16 * 1024 * 1024;
  StartProxy({a.MakeBackend()});
  TestClient client = Client();
  Message response =
      client.RoundTrip("POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 16777217\r\n\r\n");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.Header("Content-Type"), "application/json");
  EXPECT_EQ(response.Header("Connection"), "close");
  EXPECT_EQ(a.requests(), 0);
}

TEST_F(ProxyTest, OversizeChunkedBodyIs413) {
  TestBackend a("a");
  options_.limits.max_request_body = 16 * 1024 * 1024;
  StartProxy({a.MakeBackend()});
  TestClient client = Client();
  client.Send("POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string chunk = "100000\r\n" + std::string(0x100000, 'x') + "\r\n";  // 1 MiB
  bool answered = false;
  try {
    for (int i = 0; i < 17; ++i) client.Send(chunk);
  } catch (const std::exception&) {
    answered = true;  // the proxy may stop reading once it answered
  }
  Message response = client.Read();
  EXPECT_EQ(response.status, 413) << answered;
  EXPECT_EQ(a.requests(), 0);
}

TEST_F(ProxyTest, MalformedRequestIs400AndCloses) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  TestClient client = Client();
  Message response =
      client.RoundTrip("GET / HTTP/1.1\r\nHost: app.test\r\nThis is not a header\r\n\r\n");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.Header("Connection"), "close");
  EXPECT_TRUE(client.ServerClosed());
  EXPECT_EQ(a.requests(), 0);
}

TEST_F(ProxyTest, HugeHeaderIs431) {
  options_.limits.max_header_bytes = 16 * 1024;
  StartProxy({});
  TestClient client = Client();
  Message response = client.RoundTrip(Get("/", "X-Big: " + std::string(20 * 1024, 'x') + "\r\n"));
  EXPECT_EQ(response.status, 431);
}

TEST_F(ProxyTest, ListenerErrorsAndRemoval) {
  StartProxy({});
  ProxyServer other(1);
  std::string taken = server_->BoundAddress("hello");
  Status busy = other.AddListener({"busy", taken, pool_});
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().message, "listen " + taken + ": Address already in use");
  Status bad = other.AddListener({"bad", "nope:80", pool_});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(other.BoundAddress("busy"), "");

  // Same address again: a no-op.
  EXPECT_TRUE(server_->AddListener({"hello", "127.0.0.1:0", pool_}).ok());
  EXPECT_EQ(server_->BoundAddress("hello"), taken);

  TestClient idle = Client();
  ASSERT_EQ(idle.RoundTrip(Get()).status, 503);
  server_->RemoveListener("hello");
  EXPECT_EQ(server_->BoundAddress("hello"), "");
  EXPECT_TRUE(idle.ServerClosed());  // idle keep-alive connections are closed
  EXPECT_THROW(TestClient{port_}, std::exception);
}

TEST_F(ProxyTest, Ipv6Listener) {
  TestBackend a("a");
  pool_->Publish({a.MakeBackend()});
  ProxyServer server(1);
  Status added = server.AddListener({"v6", "[::1]:0", pool_});
  if (!added.ok()) GTEST_SKIP() << added.error().message;  // no IPv6 loopback here
  std::string bound = server.BoundAddress("v6");
  EXPECT_EQ(bound.rfind("[::1]:", 0), 0u) << bound;
}

TEST_F(ProxyTest, ManyClientsOnManyThreads) {
  TestBackend a("a"), b("b");
  StartProxy({a.MakeBackend(), b.MakeBackend()}, 4);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      TestClient client(port_);
      for (int i = 0; i < 25; ++i) {
        if (client.RoundTrip(Get()).status == 200) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(a.requests() + b.requests(), 200);
  // Idle upstream connections are pooled per I/O thread and a connection's coroutine may
  // resume on any thread, so a few more than 8 per backend may open; never one per request.
  EXPECT_LT(a.accepts() + b.accepts(), 100);
}

TEST_F(ProxyTest, DestroyingTheServerWithARequestInFlightIsClean) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()}, 2);
  a.Hold();
  std::atomic<bool> failed{false};
  std::thread held([&] {
    TestClient client(port_);
    try {
      client.RoundTrip(Get());
    } catch (const std::exception&) {
      failed = true;  // the connection was closed under it
    }
  });
  auto backend = pool_->Snapshot()->stable[0];
  ASSERT_TRUE(WaitFor([&] { return backend->inflight.load() == 1; }));
  server_.reset();
  held.join();
  EXPECT_TRUE(failed);
  EXPECT_EQ(backend->inflight.load(), 0);
  a.Release();
}

}  // namespace
}  // namespace slipway::proxy::testing
