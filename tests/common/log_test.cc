#include "common/log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>

#include "common/json_string.h"
#include "common/log_time.h"

namespace slipway::log {
namespace {

constexpr std::string_view kTime = "2026-05-01T12:00:00.123Z";

TEST(LogLineTest, HasTheIssuesShapeAndOrder) {
  std::string line = FormatLine(kTime, Level::kInfo, "rollout", "hello-r3-0 is ready",
                                {{"app", "hello"},
                                 {"release", 3},
                                 {"request_id", "abc"},
                                 {"event", "replica.ready"},
                                 {"ms", 12}});
  EXPECT_EQ(line,
            "{\"time\":\"2026-05-01T12:00:00.123Z\",\"level\":\"info\",\"component\":\"rollout\","
            "\"app\":\"hello\",\"release\":3,\"request_id\":\"abc\","
            "\"message\":\"hello-r3-0 is ready\",\"fields\":{\"event\":\"replica.ready\","
            "\"ms\":12}}");
}

TEST(LogLineTest, LeavesOutWhatIsNotKnown) {
  EXPECT_EQ(FormatLine(kTime, Level::kWarn, "daemon", "stopping", nlohmann::json::object()),
            "{\"time\":\"2026-05-01T12:00:00.123Z\",\"level\":\"warn\",\"component\":\"daemon\","
            "\"message\":\"stopping\"}");
  // An empty app or request id, or a release that is not a positive number, stays a field.
  std::string line = FormatLine(kTime, Level::kError, "proxy", "x",
                                {{"app", ""}, {"release", "3"}, {"request_id", ""}});
  auto j = nlohmann::json::parse(line);
  EXPECT_FALSE(j.contains("app"));
  EXPECT_FALSE(j.contains("release"));
  EXPECT_FALSE(j.contains("request_id"));
  EXPECT_EQ(j["fields"], (nlohmann::json{{"app", ""}, {"release", "3"}, {"request_id", ""}}));
}

TEST(LogLineTest, InvalidUtf8DoesNotLoseTheLine) {
  auto j = nlohmann::json::parse(FormatLine(kTime, Level::kInfo, "api", "bad \xFF", {}));
  EXPECT_EQ(j["message"], "bad \xEF\xBF\xBD");
}

TEST(LogLineTest, LevelsHaveTheirNames) {
  EXPECT_STREQ(LevelName(Level::kDebug), "debug");
  EXPECT_STREQ(LevelName(Level::kError), "error");
}

TEST(LogLineTest, TheMinimumLevelIsHonoured) {
  Init(Level::kWarn);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kWarn));
  EXPECT_TRUE(Enabled(Level::kError));
  Init(Level::kInfo);
  EXPECT_TRUE(Enabled(Level::kInfo));
  EXPECT_FALSE(Enabled(Level::kDebug));
}

TEST(LogTimeTest, IsUtcWithThreeFractionDigits) {
  using namespace std::chrono;
  auto t = sys_days{year{2026} / 5 / 1} + hours{12} + minutes{0} + seconds{7} + milliseconds{5};
  EXPECT_EQ(LogTime(t), "2026-05-01T12:00:07.005Z");
  EXPECT_TRUE(std::regex_match(LogTime(system_clock::now()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

TEST(JsonStringTest, EscapesQuotesControlsAndBadBytes) {
  std::string out;
  AppendJsonString(out, "a\"b\\c\n\x01 \xC3\xA9 \xFF");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\u000a\\u0001 \xC3\xA9 \xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace slipway::log
