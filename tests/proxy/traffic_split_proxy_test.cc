// Traffic splitting through the proxy (real sockets on 127.0.0.1): weights, the routing header,
// sticky cookies, fallbacks between groups, the canary 5xx retry, and what each release's
// ReleaseWindow records.
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "metrics/release_window.h"
#include "proxy_test_fixture.h"
#include "scripted_backend.h"

namespace slipway::proxy::testing {
namespace {

using metrics::ReleaseWindow;
using namespace std::chrono_literals;

constexpr std::int64_t kStable = 1;
constexpr std::int64_t kCanary = 2;
constexpr char kCookie[] = "slipway-release";

std::shared_ptr<Backend> InRelease(std::shared_ptr<Backend> backend, std::int64_t release,
                                   std::shared_ptr<ReleaseWindow> window = nullptr) {
  backend->release = release;
  backend->window = std::move(window);
  return backend;
}

std::string StickyCookie(std::int64_t release) {
  return std::string(kCookie) + "=" + std::to_string(release) + "; Path=/; HttpOnly; SameSite=Lax";
}

// A backend that answers every request with `status` (and its name as the body).
ScriptedBackend::Handler Answering(int status, std::string body) {
  return [status, body](const RawRequest&, RawConnection& c) {
    c.Write("HTTP/1.1 " + std::to_string(status) +
            " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    return true;
  };
}

class TrafficSplitTest : public ProxyTest {
 protected:
  // Starts the proxy over a stable and a canary group.
  void StartSplit(TrafficSplit split, int threads = 1) {
    StartProxy({}, threads);
    stable_window_ = std::make_shared<ReleaseWindow>(server_->worker_count());
    canary_window_ = std::make_shared<ReleaseWindow>(server_->worker_count());
    for (auto& b : split.stable) b->window = stable_window_;
    for (auto& b : split.canary) b->window = canary_window_;
    split.canary_release = kCanary;
    pool_->PublishSplit(std::move(split));
  }
  void SetWeight(int weight) {
    TrafficSplit split = *pool_->Snapshot();
    split.canary_weight = weight;
    pool_->PublishSplit(std::move(split));
  }
  // How many of `n` GETs on one connection the canary answered (its body says "canary").
  int CanaryAnswers(TestClient& client, int n, const std::string& extra = "") {
    int canary = 0;
    for (int i = 0; i < n; ++i) {
      Message response = client.RoundTrip(Get("/", extra));
      EXPECT_EQ(response.status, 200);
      canary += response.body == "canary" ? 1 : 0;
    }
    return canary;
  }
  // Waits until the two windows have recorded `stable` and `canary` requests in all.
  bool WindowsReach(std::uint64_t stable, std::uint64_t canary) {
    return WaitFor([&] {
      return stable_window_->total_requests() >= stable &&
             canary_window_->total_requests() >= canary;
    });
  }

  TestBackend stable_{"stable"};
  TestBackend canary_{"canary"};
  std::shared_ptr<ReleaseWindow> stable_window_;
  std::shared_ptr<ReleaseWindow> canary_window_;
};

TEST_F(TrafficSplitTest, WeightSplitsAThousandRequestsWithinTwoPoints) {
  StartSplit({.stable = {InRelease(stable_.MakeBackend(), kStable)},
              .canary = {InRelease(canary_.MakeBackend(), kCanary)}});
  TestClient client = Client();
  for (int weight : {0, 10, 50, 100}) {
    SetWeight(weight);
    const int canary = CanaryAnswers(client, 1000);
    EXPECT_NEAR(canary / 10.0, weight, 2.0) << "weight " << weight;
  }
  EXPECT_TRUE(WaitFor(
      [&] { return stable_window_->total_requests() + canary_window_->total_requests() == 4000; }));
}

TEST_F(TrafficSplitTest, WeightHoldsAcrossWorkersAndConnections) {
  StartSplit({.stable = {InRelease(stable_.MakeBackend(), kStable)},
              .canary = {InRelease(canary_.MakeBackend(), kCanary)},
              .canary_weight = 30},
             /*threads=*/2);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<TestClient>(port_));
  int canary = 0;
  for (int round = 0; round < 250; ++round) {
    for (auto& client : clients) canary += CanaryAnswers(*client, 1);
  }
  EXPECT_NEAR(canary / 10.0, 30.0, 2.0);
}

TEST_F(TrafficSplitTest, RoutingHeaderSendsOneRequestEitherWay) {
  StartSplit({.stable = {InRelease(stable_.MakeBackend(), kStable)},
              .canary = {InRelease(canary_.MakeBackend(), kCanary)},
              .header = "X-Canary",
              .sticky_cookie = kCookie});
  TestClient client = Client();
  for (int weight : {0, 100}) {
    SetWeight(weight);
    for (int i = 0; i < 5; ++i) {
      Message always = client.RoundTrip(Get("/", "X-Canary: always\r\n"));
      EXPECT_EQ(always.body, "canary");
      EXPECT_FALSE(always.Has("Set-Cookie"));  // a header choice pins nobody
      Message never = client.RoundTrip(Get("/", "x-canary: Never\r\n"));
      EXPECT_EQ(never.body, "stable");
      EXPECT_FALSE(never.Has("Set-Cookie"));
    }
  }
  // Any other value is no routing: the weight decides (100).
  EXPECT_EQ(client.RoundTrip(Get("/", "X-Canary: maybe\r\n")).body, "canary");
}

TEST_F(TrafficSplitTest, StickyCookieIsSetOnceAndThenHonoured) {
  StartSplit({.stable = {InRelease(stable_.MakeBackend(), kStable)},
              .canary = {InRelease(canary_.MakeBackend(), kCanary)},
              .canary_weight = 50,
              .sticky_cookie = kCookie});
  TestClient client = Client();
  // Weight 50 alternates, stable first: one new client of each release.
  for (auto [release, name] : {std::pair{kStable, "stable"}, std::pair{kCanary, "canary"}}) {
    Message first = client.RoundTrip(Get());
    EXPECT_EQ(first.body, name);
    EXPECT_EQ(first.Header("Set-Cookie"), StickyCookie(release));
    const std::string cookie =
        "Cookie: theme=dark; " + std::string(kCookie) + "=" + std::to_string(release) + "\r\n";
    for (int i = 0; i < 20; ++i) {
      Message pinned = client.RoundTrip(Get("/", cookie));
      EXPECT_EQ(pinned.body, name);
      EXPECT_FALSE(pinned.Has("Set-Cookie"));  // the cookie already says so
    }
  }
}

TEST_F(TrafficSplitTest, CookieNamingAGoneReleaseIsChosenAgain) {
  StartSplit({.stable = {InRelease(stable_.MakeBackend(), kStable)},
              .canary = {InRelease(canary_.MakeBackend(), kCanary)},
              .canary_weight = 100,
              .sticky_cookie = kCookie});
  TestClient client = Client();
  Message stale = client.RoundTrip(Get("/", "Cookie: slipway-release=7\r\n"));
  EXPECT_EQ(stale.body, "canary");
  EXPECT_EQ(stale.Header("Set-Cookie"), StickyCookie(kCanary));
  Message malformed = client.RoundTrip(Get("/", "Cookie: slipway-release=two\r\n"));
  EXPECT_EQ(malformed.Header("Set-Cookie"), StickyCookie(kCanary));

  // The canary is gone (aborted or promoted away): its clients are served, and not re-pinned
  // while there is nothing to split.
  pool_->Publish({InRelease(stable_.MakeBackend(), kStable)});
  Message after = client.RoundTrip(Get("/", "Cookie: slipway-release=2\r\n"));
  EXPECT_EQ(after.body, "stable");
  EXPECT_FALSE(after.Has("Set-Cookie"));
}

TEST_F(TrafficSplitTest, AnEmptyOrDrainedGroupFallsBackToTheOther) {
  auto canary = InRelease(canary_.MakeBackend(), kCanary);
  StartSplit({.stable = {},
              .canary = {canary},
              .canary_weight = 0,
              .header = "X-Canary",
              .sticky_cookie = kCookie});
  TestClient client = Client();
  // No stable replica: weight 0 and "never" still get the canary rather than a 503.
  EXPECT_EQ(client.RoundTrip(Get()).body, "canary");
  EXPECT_EQ(client.RoundTrip(Get("/", "X-Canary: never\r\n")).body, "canary");

  auto stable = InRelease(stable_.MakeBackend(), kStable, stable_window_);
  pool_->PublishSplit({.stable = {stable},
                       .canary = {canary},
                       .canary_release = kCanary,
                       .canary_weight = 100,
                       .header = "X-Canary",
                       .sticky_cookie = kCookie});
  canary->draining = true;  // leaving: no usable canary backend
  Message weighted = client.RoundTrip(Get());
  EXPECT_EQ(weighted.body, "stable");
  EXPECT_EQ(weighted.Header("Set-Cookie"), StickyCookie(kStable));  // where it was served
  EXPECT_EQ(client.RoundTrip(Get("/", "X-Canary: always\r\n")).body, "stable");
  Message pinned = client.RoundTrip(Get("/", "Cookie: slipway-release=2\r\n"));
  EXPECT_EQ(pinned.body, "stable");
  EXPECT_EQ(pinned.Header("Set-Cookie"), StickyCookie(kStable));
}

TEST_F(TrafficSplitTest, CanaryFailingGetsIsRetriedOnStableAndCounted) {
  ScriptedBackend failing(Answering(500, "boom"));
  StartSplit({.stable = {InRelease(stable_.MakeBackend(), kStable)},
              .canary = {InRelease(failing.MakeBackend("canary"), kCanary)},
              .canary_weight = 100});
  TestClient client = Client();
  constexpr int kGets = 20;
  for (int i = 0; i < kGets; ++i) {
    Message response = client.RoundTrip(Get("/item/" + std::to_string(i)));
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "stable");
  }
  // A PUT whose body was read whole is replayable: the stable gets it, body and all.
  Message put =
      client.RoundTrip("PUT /item HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(put.status, 200);
  EXPECT_EQ(stable_.last_request().body, "hello");
  EXPECT_EQ(failing.last_request().body, "hello");

  ASSERT_TRUE(WindowsReach(kGets + 1, kGets + 1));
  EXPECT_EQ(canary_window_->total_requests(), kGets + 1u);
  EXPECT_EQ(canary_window_->total_errors(), kGets + 1u);  // the analysis sees every 500
  EXPECT_EQ(stable_window_->total_requests(), kGets + 1u);
  EXPECT_EQ(stable_window_->total_errors(), 0u);
  EXPECT_EQ(failing.requests(), kGets + 1);
  EXPECT_EQ(stable_.requests(), kGets + 1);
}

TEST_F(TrafficSplitTest, CanaryFailingAPostIsNotRetried) {
  ScriptedBackend failing(Answering(503, "busy"));
  StartSplit({.stable = {InRelease(stable_.MakeBackend(), kStable)},
              .canary = {InRelease(failing.MakeBackend("canary"), kCanary)},
              .canary_weight = 100});
  TestClient client = Client();
  Message post =
      client.RoundTrip("POST /orders HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_EQ(post.status, 503);  // it may have been processed: never sent twice
  EXPECT_EQ(post.body, "busy");
  ASSERT_TRUE(WindowsReach(0, 1));
  EXPECT_EQ(canary_window_->total_errors(), 1u);
  EXPECT_EQ(stable_window_->total_requests(), 0u);
  EXPECT_EQ(stable_.requests(), 0);
}

TEST_F(TrafficSplitTest, CanaryRetryCanBeTurnedOff) {
  ScriptedBackend failing(Answering(502, "bad gateway"));
  options_.retry_canary_5xx = false;
  StartSplit({.stable = {InRelease(stable_.MakeBackend(), kStable)},
              .canary = {InRelease(failing.MakeBackend("canary"), kCanary)},
              .canary_weight = 100});
  TestClient client = Client();
  EXPECT_EQ(client.RoundTrip(Get()).status, 502);
  EXPECT_EQ(stable_.requests(), 0);
}

TEST_F(TrafficSplitTest, StableFailuresAreNotRetriedOnTheCanary) {
  ScriptedBackend failing(Answering(500, "boom"));
  StartSplit({.stable = {InRelease(failing.MakeBackend("stable"), kStable)},
              .canary = {InRelease(canary_.MakeBackend(), kCanary)},
              .canary_weight = 0});
  TestClient client = Client();
  EXPECT_EQ(client.RoundTrip(Get()).status, 500);
  EXPECT_EQ(canary_.requests(), 0);
}

TEST_F(TrafficSplitTest, UnreachableCanaryIsCountedAndTheRequestServedByStable) {
  auto dead = std::make_shared<Backend>();
  dead->id = "dead-canary";
  dead->port = ClosedPort();
  StartSplit({.stable = {InRelease(stable_.MakeBackend(), kStable)},
              .canary = {InRelease(dead, kCanary)},
              .canary_weight = 100});
  TestClient client = Client();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.RoundTrip(Get()).body, "stable");
  ASSERT_TRUE(WindowsReach(3, 3));
  EXPECT_EQ(canary_window_->total_errors(), 3u);  // each failed connect is the canary's 502
  EXPECT_EQ(stable_window_->total_errors(), 0u);
}

TEST_F(TrafficSplitTest, WindowsCountEveryRequestWithItsLatency) {
  ScriptedBackend slow([](const RawRequest&, RawConnection& c) {
    std::this_thread::sleep_for(20ms);  // the app's own work, not a test wait
    c.Write(OkResponse("canary"));
    return true;
  });
  StartSplit({.stable = {InRelease(stable_.MakeBackend(), kStable)},
              .canary = {InRelease(slow.MakeBackend("canary"), kCanary)},
              .canary_weight = 50});
  TestClient client = Client();
  constexpr int kRequests = 100;
  EXPECT_EQ(CanaryAnswers(client, kRequests), kRequests / 2);
  ASSERT_TRUE(WindowsReach(kRequests / 2, kRequests / 2));

  const auto now = std::chrono::steady_clock::now();
  metrics::WindowCounts canary = canary_window_->Sum(now, 60s);
  metrics::WindowCounts stable = stable_window_->Sum(now, 60s);
  EXPECT_EQ(canary.requests, kRequests / 2u);
  EXPECT_EQ(stable.requests, kRequests / 2u);
  EXPECT_EQ(canary.errors + stable.errors, 0u);
  EXPECT_EQ(canary_window_->total_requests(), kRequests / 2u);  // nothing counted twice
  const double canary_p50 = canary.LatencyQuantile(0.5);
  const double stable_p50 = stable.LatencyQuantile(0.5);
  // 20 ms of work, within the histogram's 25% buckets, plus the proxy's (ASan) time.
  EXPECT_GE(canary_p50, 0.015);
  EXPECT_LE(canary_p50, 0.5);
  EXPECT_LT(stable_p50, canary_p50);
}

TEST_F(TrafficSplitTest, WebSocketUpgradeIsRecordedOnce) {
  ScriptedBackend ws([](const RawRequest& r, RawConnection& c) {
    c.Write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        r.Header("Sec-WebSocket-Key") + "\r\n\r\n");
    for (std::string in = c.ReadSome(); !in.empty(); in = c.ReadSome()) c.Write(in);
    return false;
  });
  StartSplit({.stable = {InRelease(stable_.MakeBackend(), kStable)},
              .canary = {InRelease(ws.MakeBackend("canary"), kCanary)},
              .canary_weight = 100});
  TestClient client = Client();
  client.Send(
      "GET /ws HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: k3y\r\nSec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_EQ(client.ReadUntil("\r\n\r\n").rfind("HTTP/1.1 101 ", 0), 0u);
  for (const char* message : {"one", "two", "three"}) {
    client.Send(message);
    EXPECT_EQ(client.ReadUntil(message), message);
  }
  ASSERT_TRUE(WindowsReach(0, 1));
  EXPECT_EQ(canary_window_->total_requests(), 1u);
  EXPECT_EQ(canary_window_->total_errors(), 0u);
}

}  // namespace
}  // namespace slipway::proxy::testing
