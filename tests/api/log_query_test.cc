#include "api/log_query.h"

#include <gtest/gtest.h>

#include <fstream>

namespace slipway::api {
namespace {

LogLine Line(LogSource source, const std::string& text) {
  auto line = ParseLogLine(text, source);
  EXPECT_TRUE(line) << text;
  return line.value_or(LogLine{});
}

LogLine Replica(const std::string& time, int release, int replica, const std::string& message) {
  return Line(LogSource::kReplica, "{\"time\":\"" + time + "\",\"app\":\"hello\",\"release\":" +
                                       std::to_string(release) +
                                       ",\"replica\":" + std::to_string(replica) +
                                       ",\"stream\":\"stdout\",\"message\":\"" + message + "\"}");
}

LogLine Access(const std::string& time, const std::string& app, const std::string& id,
               const std::string& upstream = "hello-r3-0", int release = 3) {
  return Line(LogSource::kAccess, "{\"time\":\"" + time + "\",\"request_id\":\"" + id +
                                      "\",\"app\":\"" + app + "\",\"status\":200,\"upstream\":\"" +
                                      upstream + "\",\"release\":" + std::to_string(release) + "}");
}

LogLine Slipway(const std::string& time, const std::string& extra) {
  return Line(LogSource::kSlipway, "{\"time\":\"" + time +
                                       "\",\"level\":\"warn\",\"component\":\"proxy\"" + extra +
                                       ",\"message\":\"upstream timeout\"}");
}

LogFilter For(const std::string& app) {
  LogFilter f;
  f.app = app;
  return f;
}

TEST(LogQueryTest, ParsesOnlyJsonObjectsWithATime) {
  EXPECT_FALSE(ParseLogLine("plain text", LogSource::kReplica));
  EXPECT_FALSE(ParseLogLine("{\"message\":\"no time\"}", LogSource::kReplica));
  EXPECT_FALSE(ParseLogLine("{\"time\":\"yesterday\"}", LogSource::kReplica));
  auto l = ParseLogLine("{\"time\":\"1970-01-01T00:00:01.500Z\"}", LogSource::kAccess);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->time_ms, 1500);
  EXPECT_EQ(l->source, LogSource::kAccess);
}

TEST(LogQueryTest, SinceAndUntilAreInclusiveBounds) {
  LogFilter f = For("hello");
  f.since_ms = Replica("2026-05-01T12:00:01.000Z", 3, 0, "").time_ms;
  f.until_ms = Replica("2026-05-01T12:00:02.000Z", 3, 0, "").time_ms;
  EXPECT_FALSE(Matches(Replica("2026-05-01T12:00:00.999Z", 3, 0, "a"), f));
  EXPECT_TRUE(Matches(Replica("2026-05-01T12:00:01.000Z", 3, 0, "a"), f));
  EXPECT_TRUE(Matches(Replica("2026-05-01T12:00:02.000Z", 3, 0, "a"), f));
  EXPECT_FALSE(Matches(Replica("2026-05-01T12:00:02.001Z", 3, 0, "a"), f));
  // An offset is honoured: 14:00:01+02:00 is 12:00:01Z.
  EXPECT_TRUE(Matches(Replica("2026-05-01T14:00:01+02:00", 3, 0, "a"), f));
}

TEST(LogQueryTest, RequestIdMatchesTheFieldOrTheMessage) {
  LogFilter f = For("hello");
  f.request_id = "req-42";
  EXPECT_TRUE(Matches(Replica("2026-05-01T12:00:00.000Z", 3, 0, "GET / 200 request_id=req-42"), f));
  EXPECT_FALSE(Matches(Replica("2026-05-01T12:00:00.000Z", 3, 0, "GET / 200 request_id=req-4"), f));
  EXPECT_TRUE(Matches(Access("2026-05-01T12:00:00.000Z", "hello", "req-42"), f));
  EXPECT_FALSE(Matches(Access("2026-05-01T12:00:00.000Z", "hello", "req-43"), f));
  EXPECT_TRUE(Matches(
      Slipway("2026-05-01T12:00:00.000Z", ",\"app\":\"hello\",\"request_id\":\"req-42\""), f));
  EXPECT_FALSE(Matches(Slipway("2026-05-01T12:00:00.000Z", ",\"app\":\"hello\""), f));
}

TEST(LogQueryTest, AccessAndSlipwayLinesMustBeTheApps) {
  LogFilter f = For("hello");
  EXPECT_TRUE(Matches(Access("2026-05-01T12:00:00.000Z", "hello", "x"), f));
  EXPECT_FALSE(Matches(Access("2026-05-01T12:00:00.000Z", "other", "x"), f));
  EXPECT_FALSE(Matches(Slipway("2026-05-01T12:00:00.000Z", ""), f));  // no app: not the app's
  EXPECT_TRUE(Matches(Slipway("2026-05-01T12:00:00.000Z", ",\"app\":\"hello\""), f));
}

TEST(LogQueryTest, ReleaseAndReplicaSelectLinesOfEverySource) {
  LogFilter f = For("hello");
  f.release = 3;
  f.replica = 1;
  EXPECT_TRUE(Matches(Replica("2026-05-01T12:00:00.000Z", 3, 1, "a"), f));
  EXPECT_FALSE(Matches(Replica("2026-05-01T12:00:00.000Z", 3, 0, "a"), f));
  EXPECT_FALSE(Matches(Replica("2026-05-01T12:00:00.000Z", 2, 1, "a"), f));
  EXPECT_TRUE(Matches(Access("2026-05-01T12:00:00.000Z", "hello", "x", "hello-r3-1"), f));
  EXPECT_FALSE(Matches(Access("2026-05-01T12:00:00.000Z", "hello", "x", "hello-r3-0"), f));
  EXPECT_TRUE(Matches(Slipway("2026-05-01T12:00:00.000Z",
                              ",\"app\":\"hello\",\"release\":3,"
                              "\"fields\":{\"backend\":\"hello-r3-1\"}"),
                      f));
  EXPECT_FALSE(Matches(Slipway("2026-05-01T12:00:00.000Z",
                               ",\"app\":\"hello\",\"release\":3,"
                               "\"fields\":{\"backend\":\"hello-r3-11\"}"),
                       f));
}

TEST(LogQueryTest, MergeIsByTimeAndStable) {
  std::vector<LogLine> replicas = {Replica("2026-05-01T12:00:00.001Z", 3, 0, "r1"),
                                   Replica("2026-05-01T12:00:00.003Z", 3, 0, "r3"),
                                   Replica("2026-05-01T12:00:00.003Z", 3, 0, "r3b")};
  std::vector<LogLine> access = {Access("2026-05-01T12:00:00.002Z", "hello", "a2"),
                                 Access("2026-05-01T12:00:00.003Z", "hello", "a3")};
  auto merged = MergeByTime({replicas, access});
  std::vector<std::string> order;
  for (const auto& l : merged) order.push_back(l.text);
  ASSERT_EQ(merged.size(), 5u);
  EXPECT_EQ(order[0], replicas[0].text);
  EXPECT_EQ(order[1], access[0].text);
  EXPECT_EQ(order[2], replicas[1].text);
  EXPECT_EQ(order[3], replicas[2].text);
  EXPECT_EQ(order[4], access[1].text);
}

TEST(LogQueryTest, ReadLogFileSkipsOtherAppsAndUnparsableLines) {
  std::string path = ::testing::TempDir() + "/log_query_test_access.log";
  {
    std::ofstream out(path);
    out << Access("2026-05-01T12:00:00.001Z", "hello", "a").text << "\n"
        << "not json\n"
        << Access("2026-05-01T12:00:00.002Z", "other", "b").text << "\n"
        << Access("2026-05-01T12:00:00.003Z", "hello", "c").text;  // no final newline
  }
  std::vector<LogLine> lines;
  ReadLogFile(path, LogSource::kAccess, For("hello"), lines);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].text.find("\"a\""), std::string::npos);
  EXPECT_NE(lines[1].text.find("\"c\""), std::string::npos);
  // Written before `since`: not even read.
  LogFilter later = For("hello");
  later.since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count() +
                   60'000;
  lines.clear();
  ReadLogFile(path, LogSource::kAccess, later, lines);
  EXPECT_TRUE(lines.empty());
  std::remove(path.c_str());
}

TEST(LogQueryTest, ReadLogFileKeepsExactlyTheLinesOfTheWindow) {
  std::string path = ::testing::TempDir() + "/log_query_test_replica.log";
  {
    std::ofstream out(path);
    for (const char* t :
         {"2026-05-01T12:00:00.999Z", "2026-05-01T12:00:01.000Z", "2026-05-01T12:00:01.500Z",
          "2026-05-01T12:00:02.000Z", "2026-05-01T12:00:02.001Z"}) {
      out << Replica(t, 3, 0, t).text << "\n";
    }
    // Not in Slipway's own form (an offset): judged by parsing; 12:00:01.200Z.
    out << Replica("2026-05-01T14:00:01.2+02:00", 3, 0, "offset").text << "\n";
  }
  LogFilter f = For("hello");
  f.since_ms = Replica("2026-05-01T12:00:01.000Z", 3, 0, "").time_ms;
  f.until_ms = Replica("2026-05-01T12:00:02.000Z", 3, 0, "").time_ms;
  std::vector<LogLine> lines;
  ReadLogFile(path, LogSource::kReplica, f, lines);
  std::vector<std::int64_t> got;
  for (const auto& l : lines) got.push_back(l.time_ms - *f.since_ms);
  EXPECT_EQ(got, (std::vector<std::int64_t>{0, 500, 1000, 200}));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace slipway::api
