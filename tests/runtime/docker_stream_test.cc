// The Engine API's byte formats without a daemon: multiplexed log frames split anywhere, lines,
// timestamps and `since`, progress objects, and the log record lines.
#include "runtime/docker_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace slipway::runtime {
namespace {

std::string Frame(int stream, const std::string& payload) {
  std::string f(8, '\0');
  f[0] = static_cast<char>(stream);
  auto n = static_cast<std::uint32_t>(payload.size());
  f[4] = static_cast<char>(n >> 24);
  f[5] = static_cast<char>(n >> 16);
  f[6] = static_cast<char>(n >> 8);
  f[7] = static_cast<char>(n);
  return f + payload;
}

TEST(MultiplexDecoderTest, FramesSplitAtEveryByteComeOutWhole) {
  const std::string big(70'000, 'x');  // a size that needs three header bytes
  const std::string bytes =
      Frame(1, "out line\n") + Frame(2, "err line\n") + Frame(1, big) + Frame(1, "");
  for (std::size_t piece :
       {std::size_t{1}, std::size_t{3}, std::size_t{8}, std::size_t{4096}, bytes.size()}) {
    MultiplexDecoder decoder;
    std::vector<std::pair<int, std::string>> frames;
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
      decoder.Feed(std::string_view(bytes).substr(at, piece),
                   [&](int stream, std::string_view payload) {
                     frames.emplace_back(stream, std::string(payload));
                   });
    }
    ASSERT_EQ(frames.size(), 4u) << "piece " << piece;
    EXPECT_EQ(frames[0], std::make_pair(1, std::string("out line\n")));
    EXPECT_EQ(frames[1], std::make_pair(2, std::string("err line\n")));
    EXPECT_EQ(frames[2].second.size(), big.size());
    EXPECT_EQ(frames[3], std::make_pair(1, std::string()));
    EXPECT_EQ(decoder.pending(), 0u);
  }
}

TEST(MultiplexDecoderTest, HoldsBackAnUnfinishedFrame) {
  MultiplexDecoder decoder;
  int frames = 0;
  std::string f = Frame(1, "hello\n");
  decoder.Feed(std::string_view(f).substr(0, 10), [&](int, std::string_view) { ++frames; });
  EXPECT_EQ(frames, 0);
  EXPECT_EQ(decoder.pending(), 10u);
  decoder.Feed(std::string_view(f).substr(10), [&](int, std::string_view) { ++frames; });
  EXPECT_EQ(frames, 1);
}

TEST(LineSplitterTest, JoinsPiecesAndHoldsThePartialLastLine) {
  LineSplitter lines;
  std::vector<std::string> got;
  auto collect = [&](std::string_view l) { got.emplace_back(l); };
  lines.Feed("a\nbb", collect);
  lines.Feed("b\n\nc", collect);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "bbb", ""}));
  EXPECT_EQ(lines.Flush(), std::optional<std::string>("c"));
  EXPECT_EQ(lines.Flush(), std::nullopt);
}

TEST(TimestampTest, SplitsDockersTimestampFromTheMessage) {
  auto t = SplitTimestamp("2026-12-01T11:00:00.123456789Z hello v1 listening");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->time, "2026-12-01T11:00:00.123456789Z");
  EXPECT_EQ(t->message, "hello v1 listening");
  EXPECT_EQ(SplitTimestamp("2026-12-01T11:00:00Z")->message, "");
  EXPECT_FALSE(SplitTimestamp("no timestamp here"));
}

TEST(TimestampTest, SinceIsOneNanosecondAfterTheLastLine) {
  // 2026-12-01T11:00:00Z is 1796122800 s after the epoch.
  EXPECT_EQ(SinceAfter("2026-12-01T11:00:00.123456789Z"), "1796122800.123456790");
  EXPECT_EQ(SinceAfter("2026-12-01T11:00:00.5Z"), "1796122800.500000001");
  EXPECT_EQ(SinceAfter("2026-12-01T11:00:00Z"), "1796122800.000000001");
  EXPECT_EQ(SinceAfter("2026-12-01T11:00:00.999999999Z"), "1796122801.000000000");
  EXPECT_EQ(SinceAfter("yesterday"), std::nullopt);
  EXPECT_EQ(SinceAfter("2026-12-01T11:00:00.1234567890Z"), std::nullopt);
}

TEST(LogRecordTest, IsOneJsonLineWithEveryField) {
  std::string line =
      LogRecordLine("2026-12-01T11:00:00.1Z", "hello", 3, 1, "stderr", "bad \"thing\"\n");
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2026-12-01T11:00:00.1Z");
  EXPECT_EQ(j["app"], "hello");
  EXPECT_EQ(j["release"], 3);
  EXPECT_EQ(j["replica"], 1);
  EXPECT_EQ(j["stream"], "stderr");
  EXPECT_EQ(j["message"], "bad \"thing\"\n");
  EXPECT_EQ(LogRecordTime(line), "2026-12-01T11:00:00.1Z");
  EXPECT_EQ(LogRecordTime("plain text"), std::nullopt);
  // Invalid UTF-8 from a container does not break the line.
  EXPECT_NO_THROW(nlohmann::json::parse(LogRecordLine("t", "a", 1, 0, "stdout", "\xff\xfe")));
}

TEST(ProgressTest, DescribesPullAndBuildProgressInOneLine) {
  using nlohmann::json;
  EXPECT_EQ(
      DescribeProgress(json::parse(
          R"({"status":"Downloading","id":"a1b2c3","progressDetail":{"current":2500000,"total":10000000}})")),
      "a1b2c3: Downloading 25% (2.5 MB of 10.0 MB)");
  EXPECT_EQ(DescribeProgress(
                json::parse(R"({"status":"Pull complete","id":"a1b2c3","progressDetail":{}})")),
            "a1b2c3: Pull complete");
  EXPECT_EQ(DescribeProgress(json::parse(R"({"status":"Digest: sha256:abc"})")),
            "Digest: sha256:abc");
  EXPECT_EQ(DescribeProgress(json::parse(R"({"stream":"Step 1/4 : FROM scratch\n"})")),
            "Step 1/4 : FROM scratch");
  EXPECT_EQ(DescribeProgress(json::parse(R"({"aux":{"ID":"sha256:abc"}})")), "");
  EXPECT_EQ(ProgressError(json::parse(
                R"({"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"})")),
            "manifest unknown");
  EXPECT_EQ(ProgressError(json::parse(R"({"status":"ok"})")), std::nullopt);
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(1'500), "1.5 kB");
}

}  // namespace
}  // namespace slipway::runtime

namespace slipway::runtime {
namespace {

TEST(PullProgressTest, FoldsLayerObjectsIntoOneLineAtMostOnceASecondWhileBytesMove) {
  using nlohmann::json;
  const std::string ref = "127.0.0.1:5000/hello@sha256:" + std::string(64, 'a');
  PullProgress p(ref);
  auto t0 = PullProgress::Clock::now();
  const std::string shown = "127.0.0.1:5000/hello@sha256:aaaaaaaaaaaa...";
  // Not about a layer: the tag's "Pulling from", the digest, the final status.
  EXPECT_FALSE(p.Feed(json::parse(R"({"status":"Pulling from hello","id":"v1"})"), t0));
  EXPECT_EQ(p.Feed(json::parse(R"({"status":"Pulling fs layer","id":"l1"})"), t0),
            "pulling " + shown + ": 0/1 layers, 0 B");
  EXPECT_EQ(p.Feed(json::parse(R"({"status":"Already exists","id":"l2"})"), t0),
            "pulling " + shown + ": 1/2 layers, 0 B");
  auto downloading = [](int current) {
    return json{{"status", "Downloading"},
                {"id", "l1"},
                {"progressDetail", {{"current", current}, {"total", 4'100'000}}}};
  };
  EXPECT_EQ(p.Feed(downloading(1'000'000), t0 + std::chrono::milliseconds(1100)),
            "pulling " + shown + ": 1/2 layers, 1.0 MB");
  // Within the second: nothing new to say.
  EXPECT_FALSE(p.Feed(downloading(2'000'000), t0 + std::chrono::milliseconds(1500)));
  EXPECT_EQ(p.Feed(downloading(3'000'000), t0 + std::chrono::milliseconds(2200)),
            "pulling " + shown + ": 1/2 layers, 3.0 MB");
  EXPECT_FALSE(p.Feed(json::parse(R"({"status":"Download complete","id":"l1"})"),
                      t0 + std::chrono::milliseconds(2300)));
  EXPECT_EQ(p.Feed(json::parse(R"({"status":"Pull complete","id":"l1"})"),
                   t0 + std::chrono::milliseconds(2400)),
            "pulling " + shown + ": 2/2 layers, 4.1 MB");
  EXPECT_FALSE(p.Feed(json::parse(R"({"status":"Digest: sha256:abc"})"), t0));
  EXPECT_EQ(p.Done(), "pulled " + shown + ": 2/2 layers, 4.1 MB");
}

}  // namespace
}  // namespace slipway::runtime
