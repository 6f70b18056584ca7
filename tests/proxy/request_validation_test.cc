#include "proxy/request_validation.h"

#include <gtest/gtest.h>

namespace slipway::proxy {
namespace {

namespace http = boost::beast::http;
using namespace std::string_literals;

TEST(ScanRequestHead, FindsTheEndOfACleanHead) {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next";
  HeadScan scan = ScanRequestHead(head);
  EXPECT_EQ(scan.state, HeadScan::kComplete);
  EXPECT_EQ(scan.length, head.find("GET /next"));
}

TEST(ScanRequestHead, WaitsForMoreBytes) {
  EXPECT_EQ(ScanRequestHead("GET / HTTP/1.1\r\nHost: a\r").state, HeadScan::kIncomplete);
  EXPECT_EQ(ScanRequestHead("GET / HTTP/1.1\r\nHost: a\r\n").state, HeadScan::kIncomplete);
  EXPECT_EQ(ScanRequestHead("").state, HeadScan::kIncomplete);
}

TEST(ScanRequestHead, AllowsLeadingEmptyLines) {
  EXPECT_EQ(ScanRequestHead("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").state,
            HeadScan::kComplete);
}

TEST(ScanRequestHead, RefusesWhatTheParserWouldRepair) {
  EXPECT_EQ(ScanRequestHead("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n").state, HeadScan::kBad);
  EXPECT_EQ(ScanRequestHead("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n").state, HeadScan::kBad);
  EXPECT_EQ(ScanRequestHead("GET / HTTP/1.1\nHost: a\n\n").state, HeadScan::kBad);
  EXPECT_EQ(ScanRequestHead("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n").state, HeadScan::kBad);
  EXPECT_EQ(ScanRequestHead("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"s).state, HeadScan::kBad);
}

ProxyRequestHead Head(http::verb method, std::string target, unsigned version = 11) {
  ProxyRequestHead h;
  h.method(method);
  h.target(target);
  h.version(version);
  return h;
}

TEST(RejectReason, AcceptsOrdinaryRequests) {
  auto h = Head(http::verb::get, "/path?q=1");
  h.set(http::field::host, "app.example:8080");
  EXPECT_EQ(RejectReason(h), std::nullopt);
  h.set(http::field::transfer_encoding, "Chunked");
  EXPECT_EQ(RejectReason(h), std::nullopt);
  auto options = Head(http::verb::options, "*");
  options.set(http::field::host, "a");
  EXPECT_EQ(RejectReason(options), std::nullopt);
  auto old = Head(http::verb::get, "/", 10);  // HTTP/1.0 needs no Host
  EXPECT_EQ(RejectReason(old), std::nullopt);
}

TEST(RejectReason, RefusesAmbiguousFraming) {
  auto h = Head(http::verb::post, "/");
  h.set(http::field::host, "a");
  h.insert(http::field::content_length, "4");
  h.insert(http::field::content_length, "4");
  EXPECT_TRUE(RejectReason(h));
  h.erase(http::field::content_length);
  h.set(http::field::content_length, "4, 4");
  EXPECT_TRUE(RejectReason(h));
  h.set(http::field::content_length, "4");
  h.set(http::field::transfer_encoding, "chunked");
  EXPECT_TRUE(RejectReason(h));
  h.erase(http::field::content_length);
  h.set(http::field::transfer_encoding, "gzip, chunked");
  EXPECT_TRUE(RejectReason(h));
}

TEST(RejectReason, RefusesTargetsAndHostsAProxyMustNotTrust) {
  auto absolute = Head(http::verb::get, "http://evil.example/");
  absolute.set(http::field::host, "a");
  EXPECT_TRUE(RejectReason(absolute));
  auto star = Head(http::verb::get, "*");
  star.set(http::field::host, "a");
  EXPECT_TRUE(RejectReason(star));
  auto connect = Head(http::verb::connect, "/");
  connect.set(http::field::host, "a");
  EXPECT_TRUE(RejectReason(connect));
  auto no_host = Head(http::verb::get, "/");
  EXPECT_TRUE(RejectReason(no_host));
  auto bad_host = Head(http::verb::get, "/");
  bad_host.set(http::field::host, "a/b@c");
  EXPECT_TRUE(RejectReason(bad_host));
  auto two_hosts = Head(http::verb::get, "/");
  two_hosts.insert(http::field::host, "a");
  two_hosts.insert(http::field::host, "b");
  EXPECT_TRUE(RejectReason(two_hosts));
  auto http12 = Head(http::verb::get, "/", 12);
  http12.set(http::field::host, "a");
  EXPECT_TRUE(RejectReason(http12));
}

}  // namespace
}  // namespace slipway::proxy
