// HttpWebhookPoster against a real HTTP server on 127.0.0.1: what it sends, and how each kind
// of answer (or none) is classified.
#include "alerts/webhook_poster.h"
#include "alerts/webhook_url.h"

#include <gtest/gtest.h>

#include <optional>

#include <boost/asio/ip/tcp.hpp>

#include "alert_test_support.h"
#include "webhook_receiver.h"

namespace slipway::alerts {
namespace {

using namespace std::chrono_literals;
using testing::RunUntil;
using testing::WebhookReceiver;

class WebhookPosterTest : public ::testing::Test {
 protected:
  std::optional<PostResult> PostTo(const std::string& url, std::chrono::milliseconds timeout = 2s) {
    std::optional<PostResult> result;
    poster.Post(url, R"({"version":"4"})", timeout, [&](PostResult r) { result = r; });
    EXPECT_TRUE(RunUntil(io, [&] { return result.has_value(); }));
    return result;
  }
  std::string Url(const std::string& path = "/hook") {
    return "http://127.0.0.1:" + std::to_string(receiver.port()) + path;
  }
  boost::asio::io_context io;
  WebhookReceiver receiver{io};
  HttpWebhookPoster poster{io};
};

TEST_F(WebhookPosterTest, PostsTheJsonBody) {
  auto result = PostTo(Url("/alerts/hook?token=x"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, PostResult::Outcome::kDelivered);
  EXPECT_EQ(result->detail, "HTTP 200");
  ASSERT_EQ(receiver.requests().size(), 1u);
  const auto& request = receiver.requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/alerts/hook?token=x");
  EXPECT_EQ(request.host, "127.0.0.1:" + std::to_string(receiver.port()));
  EXPECT_EQ(request.content_type, "application/json");
  EXPECT_EQ(request.body, R"({"version":"4"})");
}

TEST_F(WebhookPosterTest, ServerErrorsAndThrottlingAreRetriedOtherAnswersAreNot) {
  const std::pair<unsigned, PostResult::Outcome> cases[] = {
      {204, PostResult::Outcome::kDelivered}, {500, PostResult::Outcome::kRetry},
      {503, PostResult::Outcome::kRetry},     {429, PostResult::Outcome::kRetry},
      {408, PostResult::Outcome::kRetry},     {400, PostResult::Outcome::kRejected},
      {404, PostResult::Outcome::kRejected},  {301, PostResult::Outcome::kRejected}};
  for (auto [status, outcome] : cases) {
    receiver.set_status(status);
    auto result = PostTo(Url());
    ASSERT_TRUE(result);
    EXPECT_EQ(result->outcome, outcome) << status;
    EXPECT_EQ(result->detail, "HTTP " + std::to_string(status));
  }
}

TEST_F(WebhookPosterTest, AClosedPortIsRetried) {
  std::uint16_t port;
  {
    boost::asio::ip::tcp::acceptor probe(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
    port = probe.local_endpoint().port();
  }
  auto result = PostTo("http://127.0.0.1:" + std::to_string(port) + "/hook");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, PostResult::Outcome::kRetry);
  EXPECT_EQ(result->detail, "connect: Connection refused");
}

TEST_F(WebhookPosterTest, ASilentReceiverTimesOut) {
  receiver.set_silent(true);
  const auto start = std::chrono::steady_clock::now();
  auto result = PostTo(Url(), 300ms);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, PostResult::Outcome::kRetry);
  EXPECT_EQ(result->detail, "timeout after 300ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(WebhookPosterTest, AnUnusableUrlIsRefused) {
  auto result = PostTo("ftp://example.com/");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, PostResult::Outcome::kRejected);
}

TEST(WebhookUrlTest, ParsesHostPortAndTarget) {
  auto url = ParseWebhookUrl("http://127.0.0.1:9093/api/hook?x=1");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 9093);
  EXPECT_EQ(url->target, "/api/hook?x=1");
  EXPECT_EQ(url->host_header, "127.0.0.1:9093");
  url = ParseWebhookUrl("http://alerts.example.com");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->host_header, "alerts.example.com");
  url = ParseWebhookUrl("http://[::1]:8080/h");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->host_header, "[::1]:8080");
  EXPECT_FALSE(ParseWebhookUrl("https://x/").ok());
  EXPECT_FALSE(ParseWebhookUrl("http://:80/").ok());
  EXPECT_FALSE(ParseWebhookUrl("http://x:99999/").ok());
  EXPECT_FALSE(ParseWebhookUrl("http://u:p@x/").ok());
  EXPECT_FALSE(ParseWebhookUrl("http://x/a b").ok());
  EXPECT_FALSE(ParseWebhookUrl("x/").ok());
}

}  // namespace
}  // namespace slipway::alerts
