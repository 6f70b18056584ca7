#include <chrono>
#include <memory>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "health/probe_loop.h"
#include "test_http_server.h"

namespace slipway::health {
namespace {

using testing::ClosedPort;
using testing::RunUntil;
using testing::TestHttpServer;
using namespace std::chrono_literals;

// Records verdicts, and the server's request count at each one.
class RecordingConsumer : public ProbeConsumer {
 public:
  explicit RecordingConsumer(const TestHttpServer* server = nullptr) : server_(server) {}
  void OnHealthy() override {
    ++healthy;
    at.push_back(server_ ? server_->requests() : 0);
  }
  void OnUnhealthy(const ProbeResult& last) override {
    ++unhealthy;
    last_detail = last.detail;
    at.push_back(server_ ? server_->requests() : 0);
  }
  int healthy = 0;
  int unhealthy = 0;
  std::string last_detail;
  std::vector<int> at;

 private:
  const TestHttpServer* server_;
};

spec::Probe FastProbe(int successes, int failures) {
  spec::Probe probe;
  probe.interval = 10ms;
  probe.timeout = 500ms;
  probe.success_threshold = successes;
  probe.failure_threshold = failures;
  return probe;
}

TEST(ProbeLoop, BecomesHealthyAfterThresholdThenLosesAndRegainsIt) {
  boost::asio::io_context io;
  TestHttpServer server(io);
  RecordingConsumer consumer(&server);
  ProbeLoop loop(io, FastProbe(2, 3), server.port(), &consumer);
  loop.Start();
  ASSERT_TRUE(RunUntil(io, [&] { return consumer.healthy == 1; }));
  EXPECT_TRUE(loop.healthy());
  EXPECT_EQ(consumer.at, std::vector<int>{2});  // exactly after the 2nd success
  EXPECT_EQ(loop.last_result().detail, "HTTP 200");

  server.set_mode(TestHttpServer::Mode::kUnavailable);
  int before = server.requests();
  ASSERT_TRUE(RunUntil(io, [&] { return consumer.unhealthy == 1; }));
  EXPECT_FALSE(loop.healthy());
  EXPECT_EQ(consumer.last_detail, "HTTP 503");
  // The probe that was possibly in flight when the mode changed may have succeeded.
  EXPECT_GE(consumer.at[1] - before, 3);
  EXPECT_LE(consumer.at[1] - before, 4);

  // After health was lost, more failures are silent.
  int lost_at = server.requests();
  ASSERT_TRUE(RunUntil(io, [&] { return server.requests() >= lost_at + 7; }));
  EXPECT_EQ(consumer.unhealthy, 1);

  server.set_mode(TestHttpServer::Mode::kOk);
  ASSERT_TRUE(RunUntil(io, [&] { return consumer.healthy == 2; }));
  EXPECT_TRUE(loop.healthy());
}

TEST(ProbeLoop, NeverHealthyReportsOncePerThresholdCrossing) {
  boost::asio::io_context io;
  TestHttpServer server(io);
  server.set_mode(TestHttpServer::Mode::kUnavailable);
  RecordingConsumer consumer(&server);
  ProbeLoop loop(io, FastProbe(1, 2), server.port(), &consumer);
  loop.Start();
  ASSERT_TRUE(RunUntil(io, [&] { return consumer.unhealthy == 3; }));
  EXPECT_EQ(consumer.at, (std::vector<int>{2, 4, 6}));
  EXPECT_EQ(consumer.healthy, 0);
}

TEST(ProbeLoop, ClosedPortIsUnhealthyWithConnectDetail) {
  boost::asio::io_context io;
  RecordingConsumer consumer;
  ProbeLoop loop(io, FastProbe(1, 2), ClosedPort(), &consumer);
  loop.Start();
  ASSERT_TRUE(RunUntil(io, [&] { return consumer.unhealthy == 1; }));
  EXPECT_EQ(consumer.last_detail, "connect: Connection refused");
  EXPECT_FALSE(loop.healthy());
}

TEST(ProbeLoop, NoCallbackAfterStopEvenWithAProbeInFlight) {
  boost::asio::io_context io;
  TestHttpServer server(io);
  server.set_mode(TestHttpServer::Mode::kSilent);
  RecordingConsumer consumer;
  spec::Probe probe = FastProbe(1, 1);
  probe.timeout = 100ms;
  ProbeLoop loop(io, probe, server.port(), &consumer);
  loop.Start();
  ASSERT_TRUE(RunUntil(io, [&] { return server.accepted() == 1; }));  // probe in flight
  loop.Stop();
  // The probe times out and closes its connection; its result must be ignored.
  ASSERT_TRUE(RunUntil(io, [&] { return server.closed_by_peer() == 1; }));
  io.restart();
  io.poll();
  EXPECT_EQ(consumer.unhealthy, 0);
  EXPECT_EQ(consumer.healthy, 0);
  EXPECT_EQ(server.accepted(), 1);  // and no further probe started
}

TEST(ProbeLoop, NoCallbackAfterDestructionWithAProbeInFlight) {
  boost::asio::io_context io;
  TestHttpServer server(io);
  server.set_mode(TestHttpServer::Mode::kSilent);
  RecordingConsumer consumer;
  spec::Probe probe = FastProbe(1, 1);
  probe.timeout = 100ms;
  auto loop = std::make_unique<ProbeLoop>(io, probe, server.port(), &consumer);
  loop->Start();
  ASSERT_TRUE(RunUntil(io, [&] { return server.accepted() == 1; }));
  loop.reset();
  ASSERT_TRUE(RunUntil(io, [&] { return server.closed_by_peer() == 1; }));
  io.restart();
  io.poll();
  EXPECT_EQ(consumer.unhealthy, 0);
}

// The owner may destroy the loop from inside its own callback.
class SelfDestroyingConsumer : public ProbeConsumer {
 public:
  void OnHealthy() override {}
  void OnUnhealthy(const ProbeResult&) override {
    ++calls;
    loop.reset();
  }
  std::unique_ptr<ProbeLoop> loop;
  int calls = 0;
};

TEST(ProbeLoop, MayBeDestroyedInsideItsCallback) {
  boost::asio::io_context io;
  SelfDestroyingConsumer consumer;
  consumer.loop = std::make_unique<ProbeLoop>(io, FastProbe(1, 1), ClosedPort(), &consumer);
  consumer.loop->Start();
  ASSERT_TRUE(RunUntil(io, [&] { return consumer.calls == 1; }));
  EXPECT_EQ(consumer.loop, nullptr);
  io.restart();
  io.poll();
  EXPECT_EQ(consumer.calls, 1);
}

}  // namespace
}  // namespace slipway::health
