// HTTP/1.1 semantics through the proxy, against backends that answer byte for byte: bodies
// streamed both ways in every framing, 100-continue, pipelining, WebSocket upgrade, gzip,
// limits and timeouts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "proxy_test_fixture.h"
#include "scripted_backend.h"

namespace slipway::proxy::testing {
namespace {

std::string Gunzip(const std::string& in) {
  z_stream z{};
  inflateInit2(&z, 15 + 32);
  std::string out;
  char chunk[16384];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - z.avail_out);
  }
  inflateEnd(&z);
  EXPECT_EQ(rc, Z_STREAM_END);
  return out;
}

// The request target of a raw request head.
std::string Target(const RawRequest& r) {
  const std::size_t start = r.head.find(' ') + 1;
  return r.head.substr(start, r.head.find(' ', start) - start);
}

std::string Text(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i) + " of the text\n";
  s.resize(n);
  return s;
}

std::string Chunked(const std::string& body, std::size_t piece) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); i += piece) {
    std::string part = body.substr(i, piece);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    out += size + part + "\r\n";
  }
  return out + "0\r\n\r\n";
}

class HttpSemanticsTest : public ProxyTest {};

TEST_F(HttpSemanticsTest, ChunkedResponseIsRelayedChunkedToHttp11AndCloseDelimitedToHttp10) {
  const std::string body = Text(200'000);
  ScriptedBackend backend([&](const RawRequest&, RawConnection& c) {
    c.Write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        "Transfer-Encoding: chunked\r\n\r\n" +
        Chunked(body, 7777));
    return true;
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  Message v11 = client.RoundTrip(Get());
  EXPECT_EQ(v11.status, 200);
  EXPECT_EQ(v11.Header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(v11.body, body);
  EXPECT_EQ(client.RoundTrip(Get()).body, body);  // kept alive

  TestClient old = Client();
  Message v10 = old.RoundTrip("GET / HTTP/1.0\r\nHost: app.test\r\n\r\n");
  EXPECT_EQ(v10.status, 200);
  EXPECT_FALSE(v10.Has("Transfer-Encoding"));  // HTTP/1.0 has no chunked coding
  EXPECT_EQ(v10.body, body);
  EXPECT_TRUE(old.ServerClosed());
}

TEST_F(HttpSemanticsTest, CloseDelimitedResponseBecomesChunkedAndTheClientStaysConnected) {
  const std::string body = Text(50'000);
  ScriptedBackend backend([&](const RawRequest&, RawConnection& c) {
    c.Write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n" +
        body);
    return false;  // the end of the body is the end of the connection
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  for (int i = 0; i < 2; ++i) {
    Message response = client.RoundTrip(Get());
    EXPECT_EQ(response.Header("Transfer-Encoding"), "chunked");
    EXPECT_EQ(response.body, body);
  }
}

TEST_F(HttpSemanticsTest, LargeBodiesStreamBothWaysIntact) {
  const std::string upload = Text(8 << 20);
  ScriptedBackend backend([&](const RawRequest& r, RawConnection& c) {
    c.Write(OkResponse(r.body, "Content-Type: application/octet-stream\r\n"));  // echo
    return true;
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  Message length = client.RoundTrip("POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: " +
                                    std::to_string(upload.size()) + "\r\n\r\n" + upload);
  EXPECT_EQ(length.status, 200);
  EXPECT_EQ(length.body.size(), upload.size());
  EXPECT_TRUE(length.body == upload);
  EXPECT_FALSE(backend.last_request().chunked);

  Message chunked =
      client.RoundTrip("POST /up HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
                       Chunked(upload, 100'000));
  EXPECT_EQ(chunked.status, 200);
  EXPECT_TRUE(chunked.body == upload);
  EXPECT_TRUE(backend.last_request().chunked);  // too long to buffer: streamed as chunks
}

TEST_F(HttpSemanticsTest, ShortChunkedBodyIsForwardedWithContentLength) {
  ScriptedBackend backend([](const RawRequest& r, RawConnection& c) {
    c.Write(OkResponse(r.body));
    return true;
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  Message response = client.RoundTrip(
      "POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello world");
  RawRequest seen = backend.last_request();
  EXPECT_FALSE(seen.chunked);
  EXPECT_EQ(seen.Header("Content-Length"), "11");
  EXPECT_EQ(seen.Header("Transfer-Encoding"), "");
}

TEST_F(HttpSemanticsTest, ExpectContinueIsAnsweredBeforeTheBodyIsSent) {
  ScriptedBackend backend([](const RawRequest& r, RawConnection& c) {
    c.Write(OkResponse(r.body + "|" + r.Header("Expect")));
    return true;
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  client.Send(
      "PUT /f HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.ReadUntil("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  client.Send("data");
  Message response = client.Read();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "data|");  // the backend never saw Expect
}

TEST_F(HttpSemanticsTest, ExpectContinueWithATooLargeBodyIs413WithoutContinue) {
  ScriptedBackend backend([](const RawRequest&, RawConnection& c) {
    c.Write(OkResponse("x"));
    return true;
  });
  options_.limits.max_request_body = 1000;
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  client.Send(
      "PUT /f HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1001\r\nExpect: 100-continue\r\n\r\n");
  Message response = client.Read();
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.Header("Connection"), "close");
  EXPECT_EQ(backend.requests(), 0);
}

TEST_F(HttpSemanticsTest, PipelinedRequestsAreAnsweredInOrder) {
  ScriptedBackend backend([](const RawRequest& r, RawConnection& c) {
    std::string target = Target(r);
    if (target == "/slow") std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c.Write(OkResponse(target));
    return true;
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  client.Send(Get("/slow") + "POST /b HTTP/1.1\r\nHost: app.test\r\nContent-Length: 3\r\n\r\nabc" +
              Get("/c"));
  EXPECT_EQ(client.Read().body, "/slow");
  EXPECT_EQ(client.Read().body, "/b");
  EXPECT_EQ(client.Read().body, "/c");
}

TEST_F(HttpSemanticsTest, WebSocketUpgradeIsTunnelledBothWays) {
  ScriptedBackend backend([](const RawRequest& r, RawConnection& c) {
    if (r.Header("Upgrade") != "websocket") {
      c.Write(OkResponse("no upgrade"));
      return true;
    }
    c.Write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        r.Header("Sec-WebSocket-Key") + "\r\n\r\nhello-from-server");
    for (int i = 0; i < 3; ++i) {  // echo what comes, upper-cased, three times
      std::string in = c.ReadSome();
      if (in.empty()) break;
      for (char& ch : in) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      c.Write(in);
    }
    return false;
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  client.Send(
      "GET /ws HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: k3y\r\nSec-WebSocket-Version: 13\r\n\r\n");
  std::string head = client.ReadUntil("\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 101 ", 0), 0u) << head;
  EXPECT_NE(head.find("Upgrade: websocket"), std::string::npos) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Accept: k3y"), std::string::npos) << head;
  EXPECT_EQ(client.ReadUntil("hello-from-server"), "hello-from-server");
  client.Send("ping one");
  EXPECT_EQ(client.ReadUntil("PING ONE"), "PING ONE");
  client.Send("ping two");
  EXPECT_EQ(client.ReadUntil("PING TWO"), "PING TWO");
  EXPECT_EQ(backend.last_request().Header("Connection"), "Upgrade");
}

TEST_F(HttpSemanticsTest, OtherUpgradesAreNotForwarded) {
  ScriptedBackend backend([](const RawRequest& r, RawConnection& c) {
    c.Write(OkResponse("upgrade=" + r.Header("Upgrade")));
    return true;
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  Message response = client.RoundTrip(Get("/",
                                          "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                                          "HTTP2-Settings: AAMAAABkAAQAAP__\r\n"));
  EXPECT_EQ(response.body, "upgrade=");
}

TEST_F(HttpSemanticsTest, TextIsGzippedForClientsThatAcceptIt) {
  const std::string html = Text(20'000);
  ScriptedBackend backend([&](const RawRequest& r, RawConnection& c) {
    std::string target = Target(r);
    if (target == "/png") {
      c.Write(OkResponse(html, "Content-Type: image/png\r\n"));
    } else if (target == "/encoded") {
      c.Write(OkResponse(html, "Content-Type: text/html\r\nContent-Encoding: br\r\n"));
    } else {
      c.Write(OkResponse(html, "Content-Type: text/html; charset=utf-8\r\nETag: \"v1\"\r\n"));
    }
    return true;
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  Message gz = client.RoundTrip(Get("/", "Accept-Encoding: br, gzip\r\n"));
  EXPECT_EQ(gz.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.Header("Vary"), "Accept-Encoding");
  EXPECT_EQ(gz.Header("ETag"), "W/\"v1\"");
  EXPECT_FALSE(gz.Has("Content-Length"));
  EXPECT_LT(gz.body.size(), html.size() / 3);
  EXPECT_EQ(Gunzip(gz.body), html);

  Message plain = client.RoundTrip(Get());
  EXPECT_FALSE(plain.Has("Content-Encoding"));
  EXPECT_EQ(plain.body, html);
  EXPECT_EQ(client.RoundTrip(Get("/png", "Accept-Encoding: gzip\r\n")).body, html);
  Message encoded = client.RoundTrip(Get("/encoded", "Accept-Encoding: gzip\r\n"));
  EXPECT_EQ(encoded.Header("Content-Encoding"), "br");
  EXPECT_EQ(encoded.body, html);
  Message refused = client.RoundTrip(Get("/", "Accept-Encoding: gzip;q=0\r\n"));
  EXPECT_EQ(refused.body, html);
}

TEST_F(HttpSemanticsTest, GzipCanBeTurnedOff) {
  ScriptedBackend backend([](const RawRequest&, RawConnection& c) {
    c.Write(OkResponse(Text(5000), "Content-Type: text/plain\r\n"));
    return true;
  });
  options_.gzip = false;
  StartProxy({backend.MakeBackend()});
  Message response = Client().RoundTrip(Get("/", "Accept-Encoding: gzip\r\n"));
  EXPECT_FALSE(response.Has("Content-Encoding"));
  EXPECT_EQ(response.body.size(), 5000u);
}

TEST_F(HttpSemanticsTest, LongTargetIs414) {
  ScriptedBackend backend([](const RawRequest&, RawConnection& c) {
    c.Write(OkResponse("x"));
    return true;
  });
  options_.limits.max_uri_bytes = 1024;
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  EXPECT_EQ(client.RoundTrip(Get("/" + std::string(1023, 'a'))).status, 200);
  Message response = client.RoundTrip(Get("/" + std::string(1024, 'a')));
  EXPECT_EQ(response.status, 414);
  EXPECT_EQ(response.Header("Connection"), "close");
  EXPECT_EQ(backend.requests(), 1);
}

TEST_F(HttpSemanticsTest, ConnectionsPastTheLimitGet503) {
  ScriptedBackend backend([](const RawRequest&, RawConnection& c) {
    c.Write(OkResponse("x"));
    return true;
  });
  options_.limits.max_connections = 2;
  StartProxy({backend.MakeBackend()});
  TestClient a = Client(), b = Client();
  ASSERT_EQ(a.RoundTrip(Get()).status, 200);
  ASSERT_EQ(b.RoundTrip(Get()).status, 200);
  TestClient c = Client();
  Message busy = c.Read();
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.body, "{\"error\":\"too many connections\"}\n");
  EXPECT_TRUE(c.ServerClosed());
  EXPECT_EQ(a.RoundTrip(Get()).status, 200);  // the admitted ones are untouched
}

TEST_F(HttpSemanticsTest, SlowUpstreamIs504AfterTheResponseTimeout) {
  ScriptedBackend backend([](const RawRequest&, RawConnection& c) {
    c.ReadSome();  // never answers; returns when the proxy gives up and closes
    return false;
  });
  options_.timeouts.upstream_response = std::chrono::milliseconds(200);
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  auto start = std::chrono::steady_clock::now();
  Message response = client.RoundTrip(Get());
  EXPECT_EQ(response.status, 504);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_NE(response.Header("Connection"), "close");  // the client connection is fine
}

TEST_F(HttpSemanticsTest, ASlowHeadIsCutAtTheHeaderTimeout) {
  ScriptedBackend backend([](const RawRequest&, RawConnection& c) {
    c.Write(OkResponse("x"));
    return true;
  });
  options_.timeouts.header = std::chrono::milliseconds(300);
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  auto start = std::chrono::steady_clock::now();
  client.Send("GET / HTTP/1.1\r\nHost: app.test\r\n");  // slowloris: the head never ends
  EXPECT_TRUE(client.ServerClosed());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(backend.requests(), 0);
}

TEST_F(HttpSemanticsTest, AnIdleKeepAliveConnectionIsClosedAtTheIdleTimeout) {
  ScriptedBackend backend([](const RawRequest&, RawConnection& c) {
    c.Write(OkResponse("x"));
    return true;
  });
  options_.timeouts.idle = std::chrono::milliseconds(300);
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  ASSERT_EQ(client.RoundTrip(Get()).status, 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ServerClosed());  // closed cleanly (EOF), not reset
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
}

TEST_F(HttpSemanticsTest, TheTotalTimeoutBoundsASlowTrickleOfABody) {
  ScriptedBackend backend([](const RawRequest&, RawConnection& c) {
    c.Write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    for (int i = 0; i < 100; ++i) {  // a byte every 50 ms: each read is quick, the whole is not
      try {
        c.Write("x");
      } catch (const std::exception&) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  });
  options_.timeouts.total = std::chrono::milliseconds(500);
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  auto start = std::chrono::steady_clock::now();
  client.Send(Get());
  std::string raw = client.ReadToEof();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_LT(raw.size() - raw.find("\r\n\r\n") - 4, 1000u);  // cut: visibly short
}

TEST_F(HttpSemanticsTest, ABackendThatNeverAcceptsIs502AfterTheConnectTimeout) {
  // A listener with a full accept queue: Linux drops further SYNs, so a connect hangs.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {  // bounded: enough to fill a backlog of 0 (+1)
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(fd);
  }
  auto stuck = std::make_shared<Backend>();
  stuck->id = "stuck";
  stuck->port = ntohs(addr.sin_port);
  options_.timeouts.upstream_connect = std::chrono::milliseconds(300);
  StartProxy({stuck});
  TestClient client = Client();
  auto start = std::chrono::steady_clock::now();
  Message response = client.RoundTrip(Get());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(response.status, 502);
  EXPECT_GE(took, std::chrono::milliseconds(250));  // it waited for the connect timeout
  EXPECT_LT(took, std::chrono::seconds(5));
  for (int fd : fillers) ::close(fd);
  ::close(listener);
}

TEST_F(HttpSemanticsTest, ResponseCutShortNeverLooksComplete) {
  ScriptedBackend backend([](const RawRequest&, RawConnection& c) {
    c.Write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(70000, 'x'));
    return false;  // closes 30,000 bytes short
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  client.Send(Get());
  std::string raw = client.ReadToEof();  // the proxy closes: the client knows it is short
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_LT(raw.size() - raw.find("\r\n\r\n") - 4, 100000u);
}

TEST_F(HttpSemanticsTest, AnEarlyAnswerReachesTheClientInsteadOfA502) {
  // The app refuses the upload from its head alone and closes without reading the body.
  ScriptedBackend backend(
      [](const RawRequest&, RawConnection& c) {
        c.Write(
            "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n"
            "\r\ntoo big!");
        return false;
      },
      ScriptedBackend::Read::kHeadOnly);
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  client.Send("POST /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: 10485760\r\n\r\n" +
              std::string(256 * 1024, 'x'));  // a quarter of a MiB, then the client waits
  Message response = client.Read();
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.body, "too big!");
  EXPECT_EQ(response.Header("Connection"), "close");  // the rest of the body is not read
}

TEST_F(HttpSemanticsTest, AStreamingAnswerHoldsItsBackendInFlightUntilTheLastByte) {
  std::atomic<bool> finish{false};
  ScriptedBackend backend([&](const RawRequest&, RawConnection& c) {
    c.Write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
    WaitFor([&] { return finish.load(); }, std::chrono::seconds(10));
    c.Write("world");
    return true;
  });
  std::shared_ptr<Backend> b = backend.MakeBackend();
  StartProxy({b});
  TestClient client = Client();
  client.Send(Get());
  EXPECT_EQ(client.ReadUntil("hello").substr(0, 15), "HTTP/1.1 200 OK");
  // Half the body is out: a drain must still wait for this request.
  EXPECT_EQ(b->inflight.load(), 1);
  finish = true;
  EXPECT_EQ(client.ReadUntil("world").substr(0, 5), "world");
  EXPECT_TRUE(WaitFor([&] { return b->inflight.load() == 0; }));
}

TEST_F(HttpSemanticsTest, AReplicaAnswering5xxIsEjectedAndComesBackAfterTheBackoff) {
  std::atomic<bool> broken{true};
  ScriptedBackend bad([&](const RawRequest&, RawConnection& c) {
    c.Write(broken ? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\n\r\nbad"
                   : OkResponse("bad-fixed"));
    return true;
  });
  ScriptedBackend good([](const RawRequest&, RawConnection& c) {
    c.Write(OkResponse("good"));
    return true;
  });
  options_.outlier.consecutive_failures = 3;
  options_.outlier.base_ejection = std::chrono::milliseconds(300);
  std::shared_ptr<Backend> bad_backend = bad.MakeBackend("bad");
  StartProxy({bad_backend, good.MakeBackend("good")});
  TestClient client = Client();
  int errors = 0;
  for (int i = 0; i < 20; ++i) errors += client.RoundTrip(Get()).status == 500 ? 1 : 0;
  EXPECT_EQ(errors, 3);  // its third failure in a row ejected it; everything after went to good
  EXPECT_EQ(bad_backend->ejections.load(), 1u);

  broken = false;  // fixed: once the back-off passes it gets traffic again
  EXPECT_TRUE(WaitFor([&] { return client.RoundTrip(Get()).body == "bad-fixed"; },
                      std::chrono::seconds(5)));
}

// What a broken or hostile backend may send; the client gets a 502, never those bytes.
class HostileUpstreamTest : public ProxyTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(HostileUpstreamTest, Is502AndTheClientConnectionSurvives) {
  const std::string answer = GetParam();
  ScriptedBackend backend([&](const RawRequest&, RawConnection& c) {
    c.Write(answer == "HUGE"
                ? "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'x') + "\r\n\r\n"
                : answer);
    return false;
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  Message response = client.RoundTrip(Get());
  EXPECT_EQ(response.status, 502) << answer.substr(0, 60);
  EXPECT_EQ(response.Header("Content-Type"), "application/json");
  EXPECT_EQ(client.RoundTrip(Get()).status, 502);  // same connection: it was not poisoned
}

INSTANTIATE_TEST_SUITE_P(
    BadAnswers, HostileUpstreamTest,
    ::testing::Values("HUGE",                     // head over 64 KiB
                      "SSH-2.0-OpenSSH_9.2\r\n",  // not HTTP
                      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
                      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n0\r\n\r\n",                        // smuggling both ways
                      "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",          // no colon
                      "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",  // no such status
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",  // unasked
                      "HTTP/1.1 200 OK\r\nContent-Le"));  // closes mid-head

TEST_F(HttpSemanticsTest, AFoldedResponseHeaderReachesTheClientUnfolded) {
  // RFC 9112 5.2: a proxy replaces obs-fold in a response with spaces (or answers 502).
  ScriptedBackend backend([](const RawRequest&, RawConnection& c) {
    c.Write("HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok");
    return true;
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  client.Send(Get());
  std::string raw = client.ReadUntil("\r\n\r\n");
  EXPECT_EQ(raw.find("\r\n "), std::string::npos) << raw;  // no continuation line goes out
  EXPECT_NE(raw.find("X-Folded: a"), std::string::npos) << raw;
}

TEST_F(HttpSemanticsTest, ForwardedHeaderIsAppended) {
  ScriptedBackend backend([](const RawRequest& r, RawConnection& c) {
    c.Write(OkResponse(r.Header("Forwarded")));
    return true;
  });
  StartProxy({backend.MakeBackend()});
  TestClient client = Client();
  EXPECT_EQ(client.RoundTrip(Get()).body, "for=127.0.0.1;proto=http;host=\"app.test\"");
  EXPECT_EQ(client.RoundTrip(Get("/", "Forwarded: for=192.0.2.60\r\n")).body,
            "for=192.0.2.60, for=127.0.0.1;proto=http;host=\"app.test\"");
}

}  // namespace
}  // namespace slipway::proxy::testing
