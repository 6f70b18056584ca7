// The admin API transport over a real Unix socket: permissions, peer identity, JSON errors,
// deferred answers, stale and live sockets.
#include "api/admin_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "api/admin_client.h"

namespace slipway::api {
namespace {

namespace fs = std::filesystem;

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/slipway-api-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/slipway.sock";
  }
  void TearDown() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    fs::remove_all(dir_);
  }
  Status Serve(Handler handler) {
    server_ = std::make_unique<AdminServer>(io_, path_, std::move(handler));
    Status st = server_->Start();
    if (st) {
      thread_ = std::thread([this] {
        auto guard = boost::asio::make_work_guard(io_);
        io_.run();
      });
    }
    return st;
  }

  boost::asio::io_context io_;
  std::unique_ptr<AdminServer> server_;
  std::thread thread_;
  std::string dir_, path_;
};

TEST_F(AdminServerTest, SocketIsPrivateAndPeerIsKnown) {
  ASSERT_TRUE(Serve([](const ApiRequest& req, Responder respond) {
    respond({200,
             {{"peer", req.peer},
              {"uid", req.peer_uid},
              {"path", req.path},
              {"q", req.query.count("a") ? req.query.at("a") : ""}}});
  }));
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  AdminClient client(path_);
  auto res = client.Call("GET", "/v1/x?a=b%20c");
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body["uid"], getuid());
  EXPECT_NE(res->body["peer"].get<std::string>().find("uid " + std::to_string(getuid())),
            std::string::npos);
  EXPECT_EQ(res->body["path"], "/v1/x");
  EXPECT_EQ(res->body["q"], "b c");
}

TEST_F(AdminServerTest, BadJsonIs400WithoutReachingTheHandler) {
  bool called = false;
  ASSERT_TRUE(Serve([&](const ApiRequest&, Responder respond) {
    called = true;
    respond({200, {}});
  }));
  // AdminClient always sends valid JSON; write a raw request instead.
  boost::asio::io_context io;
  boost::asio::local::stream_protocol::socket s(io);
  s.connect(boost::asio::local::stream_protocol::endpoint(path_));
  std::string req =
      "POST /v1/deploy HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{oops";
  boost::asio::write(s, boost::asio::buffer(req));
  std::string reply;
  boost::system::error_code ec;
  char buf[1024];
  for (;;) {
    size_t n = s.read_some(boost::asio::buffer(buf), ec);
    reply.append(buf, n);
    if (ec) break;
  }
  EXPECT_NE(reply.find("HTTP/1.1 400"), std::string::npos) << reply;
  EXPECT_NE(reply.find("not valid JSON"), std::string::npos) << reply;
  EXPECT_FALSE(called);
}

TEST_F(AdminServerTest, AnswerMayComeLater) {
  ASSERT_TRUE(Serve([this](const ApiRequest&, Responder respond) {
    boost::asio::post(io_, [respond] { respond({202, {{"later", true}}}); });
  }));
  AdminClient client(path_);
  for (int i = 0; i < 3; ++i) {  // one kept-alive connection, several requests
    auto res = client.Call("POST", "/v1/apps/a/stop", nlohmann::json::object());
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->status, 202);
    EXPECT_EQ(res->body["later"], true);
  }
}

TEST_F(AdminServerTest, NoDaemonIsAClearClientError) {
  AdminClient client(path_);
  auto res = client.Call("GET", "/v1/version");
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().message.find("daemon is not running"), std::string::npos);
}

TEST_F(AdminServerTest, StaleSocketIsReplacedLiveOneIsRefused) {
  {  // a socket file nobody listens on, as a crashed daemon leaves it
    boost::asio::io_context io;
    boost::asio::local::stream_protocol::acceptor stale(
        io, boost::asio::local::stream_protocol::endpoint(path_));
  }
  ASSERT_TRUE(fs::exists(path_));
  ASSERT_TRUE(Serve([](const ApiRequest&, Responder respond) { respond({200, {}}); }));
  boost::asio::io_context other_io;
  AdminServer second(other_io, path_, [](const ApiRequest&, Responder r) { r({200, {}}); });
  Status st = second.Start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("already serving"), std::string::npos);
}

}  // namespace
}  // namespace slipway::api
