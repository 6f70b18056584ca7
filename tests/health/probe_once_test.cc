#include <chrono>
#include <optional>

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

std::optional<ProbeResult> Probe(boost::asio::io_context& io, const spec::Probe& probe,
                                 std::uint16_t port) {
  std::optional<ProbeResult> result;
  int calls = 0;
  ProbeOnce(io, probe, port, nullptr, [&](ProbeResult r) {
    ++calls;
    result = std::move(r);
  });
  EXPECT_TRUE(RunUntil(io, [&] { return calls > 0; }));
  io.restart();
  io.poll();
  EXPECT_EQ(calls, 1);
  return result;
}

TEST(ProbeOnce, HttpOkSendsTheExpectedRequest) {
  boost::asio::io_context io;
  TestHttpServer server(io);
  spec::Probe probe;
  probe.path = "/up?x=1";
  auto result = Probe(io, probe, server.port());
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok);
  EXPECT_EQ(result->detail, "HTTP 200");
  std::string head = server.last_request();
  EXPECT_NE(head.find("GET /up?x=1 HTTP/1.1\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Host: 127.0.0.1:" + std::to_string(server.port())), std::string::npos);
  EXPECT_NE(head.find("User-Agent: slipway-probe"), std::string::npos);
  EXPECT_NE(head.find("Connection: close"), std::string::npos);
}

TEST(ProbeOnce, Http503Fails) {
  boost::asio::io_context io;
  TestHttpServer server(io);
  server.set_mode(TestHttpServer::Mode::kUnavailable);
  auto result = Probe(io, spec::Probe{}, server.port());
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->detail, "HTTP 503");
}

TEST(ProbeOnce, ClosedPortIsConnectionRefused) {
  boost::asio::io_context io;
  auto result = Probe(io, spec::Probe{}, ClosedPort());
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->detail, "connect: Connection refused");
}

TEST(ProbeOnce, ServerThatNeverAnswersTimesOut) {
  boost::asio::io_context io;
  TestHttpServer server(io);
  server.set_mode(TestHttpServer::Mode::kSilent);
  spec::Probe probe;
  probe.timeout = 200ms;
  auto began = std::chrono::steady_clock::now();
  auto result = Probe(io, probe, server.port());
  auto took = std::chrono::steady_clock::now() - began;
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->detail, "timeout after 200ms");
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 2s);
}

TEST(ProbeOnce, TcpProbeSucceedsOnConnectAndFailsOnClosedPort) {
  boost::asio::io_context io;
  TestHttpServer server(io);
  spec::Probe probe;
  probe.type = spec::ProbeType::kTcp;
  auto ok = Probe(io, probe, server.port());
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(server.requests(), 0);  // nothing was sent
  auto refused = Probe(io, probe, ClosedPort());
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->ok);
  EXPECT_EQ(refused->detail, "connect: Connection refused");
}

}  // namespace
}  // namespace slipway::health
