#include "proxy/gzip_encoder.h"

#include <zlib.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace slipway::proxy {
namespace {

struct Inflated {
  std::string data;
  bool complete = false;  // the gzip trailer was reached (and its CRC and length checked)
  bool error = false;
};

// Decodes a gzip stream, complete or cut after a Flush.
Inflated Gunzip(std::string_view gz) {
  Inflated result;
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 32) != Z_OK) return {"", false, true};  // 32: gzip or zlib
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  stream.avail_in = static_cast<uInt>(gz.size());
  char buffer[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    rc = inflate(&stream, Z_SYNC_FLUSH);
    result.data.append(buffer, sizeof buffer - stream.avail_out);
    if (rc == Z_BUF_ERROR && stream.avail_in == 0) break;  // all input used, stream not ended
  }
  result.complete = rc == Z_STREAM_END && stream.avail_in == 0;
  result.error = rc != Z_STREAM_END && rc != Z_BUF_ERROR && rc != Z_OK;
  inflateEnd(&stream);
  return result;
}

// Text that compresses like a real body: words from a small vocabulary, in a seeded random order.
std::string TextBody(std::size_t size, unsigned seed = 1) {
  static const std::vector<std::string> kWords = {
      "release", "canary",  "rollout", "replica", "health", "proxy",  "upstream", "<div>",
      "</div>",  "\"id\":", "12345",   "ready",   "\n",     "status", "200",      "{\"app\":"};
  std::mt19937 rng(seed);
  std::string body;
  body.reserve(size + 16);
  while (body.size() < size) {
    body += kWords[rng() % kWords.size()];
    body += ' ';
  }
  body.resize(size);
  return body;
}

std::string GzipWhole(GzipEncoder& encoder, std::string_view body) {
  std::string out;
  encoder.Append(body, out);
  encoder.Finish(out);
  return out;
}

TEST(GzipEncoderTest, EmptyBodyIsAValidGzipStream) {
  GzipEncoder encoder;
  std::string out;
  encoder.Finish(out);
  ASSERT_GE(out.size(), 18u);  // 10-byte header, empty deflate block, 8-byte trailer
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 0x8b);
  Inflated back = Gunzip(out);
  EXPECT_TRUE(back.complete);
  EXPECT_EQ(back.data, "");
  EXPECT_TRUE(encoder.finished());
}

TEST(GzipEncoderTest, SmallBodyRoundTrips) {
  GzipEncoder encoder;
  std::string out = GzipWhole(encoder, "hello, world");
  Inflated back = Gunzip(out);
  EXPECT_TRUE(back.complete);
  EXPECT_EQ(back.data, "hello, world");
  EXPECT_EQ(encoder.bytes_in(), 12u);
  EXPECT_EQ(encoder.bytes_out(), out.size());
}

TEST(GzipEncoderTest, OneMebibyteInOddPiecesRoundTripsAndShrinks) {
  const std::string body = TextBody(1 << 20);
  const std::size_t kPieces[] = {1, 7, 333, 4099, 65537, 13};
  GzipEncoder encoder;
  std::string out = "prefix";  // Append adds to what the buffer already holds
  std::size_t offset = 0;
  for (std::size_t i = 0; offset < body.size(); ++i) {
    std::size_t n = std::min(kPieces[i % std::size(kPieces)], body.size() - offset);
    encoder.Append(std::string_view(body).substr(offset, n), out);
    offset += n;
  }
  encoder.Finish(out);
  ASSERT_EQ(out.substr(0, 6), "prefix");
  Inflated back = Gunzip(std::string_view(out).substr(6));
  EXPECT_TRUE(back.complete);
  EXPECT_TRUE(back.data == body);  // not EXPECT_EQ: a mismatch would print 1 MiB
  EXPECT_LT(out.size(), body.size() / 3);
  EXPECT_EQ(encoder.bytes_in(), body.size());
  EXPECT_EQ(encoder.bytes_out() + 6, out.size());
}

TEST(GzipEncoderTest, IncompressibleInputGrowsTheOutputAsNeeded) {
  std::mt19937 rng(7);
  std::string body(300000, '\0');
  for (char& c : body) c = static_cast<char>(rng());
  GzipEncoder encoder(9);
  std::string out;
  encoder.Append(body, out);
  encoder.Finish(out);
  Inflated back = Gunzip(out);
  EXPECT_TRUE(back.complete);
  EXPECT_TRUE(back.data == body);
  EXPECT_GT(out.size(), body.size());  // stored blocks: a little larger than the input
}

TEST(GzipEncoderTest, FlushMakesEverythingAppendedSoFarDecodable) {
  GzipEncoder encoder;
  std::string out;
  std::string sent;
  for (int event = 0; event < 5; ++event) {
    std::string data = "data: event " + std::to_string(event) + "\n\n";
    encoder.Append(data, out);
    encoder.Flush(out);
    sent += data;
    Inflated partial = Gunzip(out);  // what a client holds at this point
    EXPECT_FALSE(partial.error);
    EXPECT_FALSE(partial.complete);
    EXPECT_EQ(partial.data, sent);
  }
  std::size_t before = out.size();
  encoder.Flush(out);  // nothing new: nothing to emit
  EXPECT_EQ(out.size(), before);
  encoder.Finish(out);
  Inflated back = Gunzip(out);
  EXPECT_TRUE(back.complete);
  EXPECT_EQ(back.data, sent);
}

TEST(GzipEncoderTest, ResetReusesTheEncoderForTheNextResponse) {
  const std::string first = TextBody(100000, 1);
  const std::string second = TextBody(5000, 2);
  GzipEncoder reused;
  std::string first_gz = GzipWhole(reused, first);
  reused.Reset();
  EXPECT_FALSE(reused.finished());
  EXPECT_EQ(reused.bytes_in(), 0u);
  std::string second_gz = GzipWhole(reused, second);

  Inflated back = Gunzip(second_gz);
  EXPECT_TRUE(back.complete);
  EXPECT_TRUE(back.data == second);
  // Nothing of the first response leaks into the second: same bytes as a fresh encoder.
  GzipEncoder fresh;
  EXPECT_EQ(second_gz, GzipWhole(fresh, second));
  EXPECT_TRUE(Gunzip(first_gz).data == first);
}

TEST(GzipEncoderTest, ResetBeforeFinishStartsAFreshStream) {
  GzipEncoder encoder;
  std::string abandoned;
  encoder.Append(TextBody(70000), abandoned);  // e.g. the client went away mid-response
  encoder.Reset();
  Inflated back = Gunzip(GzipWhole(encoder, "next"));
  EXPECT_TRUE(back.complete);
  EXPECT_EQ(back.data, "next");
}

TEST(GzipEncoderTest, HigherLevelsAreNotLarger) {
  const std::string body = TextBody(64 * 1024);
  GzipEncoder fast(1);
  GzipEncoder chosen;
  GzipEncoder best(9);
  std::size_t fast_size = GzipWhole(fast, body).size();
  std::size_t chosen_size = GzipWhole(chosen, body).size();
  std::size_t best_size = GzipWhole(best, body).size();
  EXPECT_LE(best_size, chosen_size);
  EXPECT_LE(chosen_size, fast_size);
}

// A table rather than TEST_P: the headers hold ';', which breaks ctest's test names.
TEST(AcceptsGzipTest, ReadsTheHeaderAsRfc9110Says) {
  struct Case {
    std::string_view header;
    bool accepts;
  };
  const Case cases[] = {
      {"gzip", true},
      {"GZIP", true},
      {"x-gzip", true},
      {"gzip;q=0", false},
      {"deflate, gzip;q=0.5", true},
      {"*", true},
      {"*;q=0", false},
      {"identity", false},
      {"", false},
      {"   ", false},
      {"br, gzip ; q=1.0", true},
      {"gzip;q=0.000", false},
      {"gzip;q=0.001", true},
      {"gzip;Q=0.5", true},
      {"\tgzip\t;\tq = 0.8", true},
      {"gzip, deflate, br, zstd", true},
      {"deflate, br", false},
      {",, gzip ,", true},
      // An explicit gzip wins over "*" either way.
      {"*;q=0.1, gzip;q=0", false},
      {"gzip;q=0, *", false},
      {"br;q=1, *;q=0.5", true},
      {"identity;q=1, *;q=0", false},
      // Malformed: refuse rather than guess.
      {"gzip;q=", false},
      {"gzip;q=2", false},
      {"gzip;q=1.5", false},
      {"gzip;q=0.5000", false},
      {"gzip;q=abc", false},
      {"gzip;", false},
      {";q=1", false},
      {"gz ip", false},
      {"gzip;level=9", false},
      {"gzip, \"deflate\"", false},
      {"gzipx", false},
      {"xgzip", false},
      {std::string_view("gzip\0", 5), false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(AcceptsGzip(c.header), c.accepts) << "\"" << c.header << "\"";
  }
}

CompressionCandidate HtmlPage() {
  CompressionCandidate c;
  c.request_method = "GET";
  c.status = 200;
  c.content_type = "text/html; charset=utf-8";
  c.content_length = 10000;
  return c;
}

TEST(ShouldCompressTest, ACompressibleResponse) { EXPECT_TRUE(ShouldCompress(HtmlPage())); }

TEST(ShouldCompressTest, NotForHead) {
  CompressionCandidate c = HtmlPage();
  c.request_method = "HEAD";
  EXPECT_FALSE(ShouldCompress(c));
  c.request_method = "POST";
  EXPECT_TRUE(ShouldCompress(c));
}

TEST(ShouldCompressTest, StatusesWithoutABodyToCompress) {
  for (unsigned status : {100u, 101u, 103u, 204u, 206u, 304u}) {
    CompressionCandidate c = HtmlPage();
    c.status = status;
    EXPECT_FALSE(ShouldCompress(c)) << status;
  }
  for (unsigned status : {200u, 201u, 301u, 404u, 500u, 503u}) {
    CompressionCandidate c = HtmlPage();
    c.status = status;
    EXPECT_TRUE(ShouldCompress(c)) << status;
  }
}

TEST(ShouldCompressTest, ContentTypes) {
  for (std::string_view type :
       {"text/html", "TEXT/Plain", "text/css", "text/event-stream", "application/json",
        "application/json; charset=utf-8", "Application/JSON", "application/problem+json",
        "application/javascript", "application/xml", "application/atom+xml", "image/svg+xml",
        " text/csv ;charset=x"}) {
    CompressionCandidate c = HtmlPage();
    c.content_type = type;
    EXPECT_TRUE(ShouldCompress(c)) << type;
  }
  for (std::string_view type :
       {"", "text", "text/", "/html", "image/png", "image/svg", "application/octet-stream",
        "application/jsonx", "application/zip", "video/mp4", "font/woff2", "application/x-json"}) {
    CompressionCandidate c = HtmlPage();
    c.content_type = type;
    EXPECT_FALSE(ShouldCompress(c)) << type;
  }
}

TEST(ShouldCompressTest, NotWhenAlreadyEncoded) {
  CompressionCandidate c = HtmlPage();
  for (std::string_view encoding : {"gzip", "br", "deflate", "gzip, identity"}) {
    c.content_encoding = encoding;
    EXPECT_FALSE(ShouldCompress(c)) << encoding;
  }
  c.content_encoding = "identity";
  EXPECT_TRUE(ShouldCompress(c));
}

TEST(ShouldCompressTest, NotWhenTheOriginForbidsTransforms) {
  CompressionCandidate c = HtmlPage();
  for (std::string_view cache_control : {"no-transform", "public, No-Transform, max-age=60"}) {
    c.cache_control = cache_control;
    EXPECT_FALSE(ShouldCompress(c)) << cache_control;
  }
  for (std::string_view cache_control :
       {"max-age=60", "no-cache=\"no-transform\"", "no-store", "no-transformx"}) {
    c.cache_control = cache_control;
    EXPECT_TRUE(ShouldCompress(c)) << cache_control;
  }
}

TEST(ShouldCompressTest, SmallKnownLengthsAreNotWorthIt) {
  CompressionCandidate c = HtmlPage();
  c.content_length = 0;
  EXPECT_FALSE(ShouldCompress(c));
  c.content_length = 255;
  EXPECT_FALSE(ShouldCompress(c));
  c.content_length = 256;
  EXPECT_TRUE(ShouldCompress(c));
  c.content_length = std::nullopt;  // chunked: length unknown
  EXPECT_TRUE(ShouldCompress(c));
  c.content_length = 1000;
  EXPECT_FALSE(ShouldCompress(c, 1024));
}

TEST(MergeVaryTest, AddsTheTokenOnce) {
  EXPECT_EQ(MergeVary("", "Accept-Encoding"), "Accept-Encoding");
  EXPECT_EQ(MergeVary("  ", "Accept-Encoding"), "Accept-Encoding");
  EXPECT_EQ(MergeVary("Cookie", "Accept-Encoding"), "Cookie, Accept-Encoding");
  EXPECT_EQ(MergeVary("Cookie,", "Accept-Encoding"), "Cookie, Accept-Encoding");
  EXPECT_EQ(MergeVary("Accept", "Accept-Encoding"), "Accept, Accept-Encoding");
  EXPECT_EQ(MergeVary("accept-encoding", "Accept-Encoding"), "accept-encoding");
  EXPECT_EQ(MergeVary("Cookie, Accept-Encoding", "Accept-Encoding"), "Cookie, Accept-Encoding");
  EXPECT_EQ(MergeVary("Cookie,Accept-Encoding ,Origin", "Accept-Encoding"),
            "Cookie,Accept-Encoding ,Origin");
  EXPECT_EQ(MergeVary("*", "Accept-Encoding"), "*");  // already varies on everything
}

TEST(WeakenEtagTest, StrongBecomesWeak) {
  EXPECT_EQ(WeakenEtag("\"v1\""), "W/\"v1\"");
  EXPECT_EQ(WeakenEtag("W/\"v1\""), "W/\"v1\"");
  EXPECT_EQ(WeakenEtag(""), "");
}

}  // namespace
}  // namespace slipway::proxy
