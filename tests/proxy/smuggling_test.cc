// Request smuggling and hostile input: every case is answered 400 (or 414 / 431 where a limit
// is the point), the connection is closed, and the backend never sees a request.
#include <gtest/gtest.h>

#include "proxy_test_fixture.h"

namespace slipway::proxy::testing {
namespace {

using namespace std::string_literals;

struct BadRequest {
  const char* name;
  std::string raw;
  int status = 400;
};

std::string Req(const std::string& head_lines, const std::string& body = "") {
  return "POST / HTTP/1.1\r\nHost: app.test\r\n" + head_lines + "\r\n" + body;
}

std::vector<BadRequest> Cases() {
  return {
      {"ContentLengthAndTransferEncoding",
       Req("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n")},
      {"TransferEncodingThenContentLength",
       Req("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", "0\r\n\r\n")},
      {"DifferingContentLengths", Req("Content-Length: 3\r\nContent-Length: 4\r\n", "abcd")},
      {"SameContentLengthTwiceInOneValue", Req("Content-Length: 4, 4\r\n", "abcd")},
      {"ContentLengthNotANumber", Req("Content-Length: 4a\r\n", "abcd")},
      {"ContentLengthSigned", Req("Content-Length: +4\r\n", "abcd")},
      {"ContentLengthNegative", Req("Content-Length: -1\r\n", "")},
      {"TransferEncodingGzipChunked", Req("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n")},
      {"TransferEncodingChunkedIdentity",
       Req("Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n")},
      {"TransferEncodingUnknown", Req("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n")},
      {"TransferEncodingTwice",
       Req("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n")},
      {"ChunkSizeNotHex", Req("Transfer-Encoding: chunked\r\n", "zz\r\nabc\r\n0\r\n\r\n")},
      {"ChunkSizeOverflow",
       Req("Transfer-Encoding: chunked\r\n", "fffffffffffffffffff\r\nabc\r\n0\r\n\r\n")},
      {"ChunkDataWithoutCrlf", Req("Transfer-Encoding: chunked\r\n", "3\r\nabcXX0\r\n\r\n")},
      {"ObsFoldedHeader", "GET / HTTP/1.1\r\nHost: app.test\r\nX-A: one\r\n two\r\n\r\n"},
      {"BareLineFeeds", "GET / HTTP/1.1\nHost: app.test\n\n"},
      {"BareCarriageReturnInValue", "GET / HTTP/1.1\r\nHost: app.test\r\nX-A: a\rb\r\n\r\n"},
      {"NulInHeaderValue", "GET / HTTP/1.1\r\nHost: app.test\r\nX-A: a\0b\r\n\r\n"s},
      {"NulInHeaderName", "GET / HTTP/1.1\r\nHost: app.test\r\nX-\0A: b\r\n\r\n"s},
      {"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : app.test\r\n\r\n"},
      {"EmptyHeaderName", "GET / HTTP/1.1\r\nHost: app.test\r\n: x\r\n\r\n"},
      {"SpaceInMethod", "GE T / HTTP/1.1\r\nHost: app.test\r\n\r\n"},
      {"ControlCharInMethod", "G\x01T / HTTP/1.1\r\nHost: app.test\r\n\r\n"},
      {"AbsoluteFormTarget", "GET http://evil.example/ HTTP/1.1\r\nHost: app.test\r\n\r\n"},
      {"ConnectMethod", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n"},
      {"TargetWithoutSlash", "GET foo HTTP/1.1\r\nHost: app.test\r\n\r\n"},
      {"AsteriskTargetNotOptions", "GET * HTTP/1.1\r\nHost: app.test\r\n\r\n"},
      {"MissingHostOnHttp11", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n"},
      {"TwoHostHeaders", "GET / HTTP/1.1\r\nHost: app.test\r\nHost: evil.example\r\n\r\n"},
      {"HttpVersionTwo", "GET / HTTP/2.0\r\nHost: app.test\r\n\r\n"},
      {"HttpVersionGarbage", "GET / HTTP/1.1x\r\nHost: app.test\r\n\r\n"},
      {"HttpVersionOneTwo", "GET / HTTP/1.2\r\nHost: app.test\r\n\r\n"},
  };
}

class SmugglingTest : public ProxyTest, public ::testing::WithParamInterface<BadRequest> {};

TEST_P(SmugglingTest, RejectedClosedAndNeverForwarded) {
  TestBackend backend("backend");
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  Message response = client.RoundTrip(GetParam().raw);
  EXPECT_EQ(response.status, GetParam().status) << response.start_line << "\n" << response.body;
  EXPECT_TRUE(client.ServerClosed()) << "the connection must be closed after a bad request";
  EXPECT_EQ(backend.requests(), 0) << "a bad request reached the backend";
}

INSTANTIATE_TEST_SUITE_P(BadInput, SmugglingTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(ProxyTest, AGoodRequestStillPassesAfterTheSuite) {
  TestBackend backend("backend");
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  Message response =
      client.RoundTrip(Req("Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(backend.requests(), 1);
  EXPECT_EQ(backend.last_request().body, "abc");
}

}  // namespace
}  // namespace slipway::proxy::testing
