#include "proxy/listen_address.h"

#include <gtest/gtest.h>

namespace slipway::proxy {
namespace {

TEST(ListenAddress, ParsesIpv4Ipv6AndLocalhost) {
  auto v4 = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  auto v6 = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  auto any = ParseListenAddress("0.0.0.0:80");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->host, "0.0.0.0");
  auto local = ParseListenAddress("localhost:9000");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->host, "127.0.0.1");
  EXPECT_EQ(FormatHostPort("::1", 80), "[::1]:80");
  EXPECT_EQ(FormatHostPort("127.0.0.1", 80), "127.0.0.1:80");
}

TEST(ListenAddress, RejectsBadInputWithTheAddressInTheMessage) {
  for (const char* bad : {"8080", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:80x", "::1:80",
                          "[::1]80", "example.com:80", "[::1"}) {
    auto result = ParseListenAddress(bad);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().message.rfind(std::string("listen ") + bad + ": ", 0), 0u)
        << result.error().message;
  }
}

}  // namespace
}  // namespace slipway::proxy
