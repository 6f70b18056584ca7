#include "runtime/log_relay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace slipway::runtime {
namespace {

using namespace std::chrono_literals;
using testing::ReadFile;
using testing::ReadLogText;
using testing::TempDir;

const LogLabels kLabels{"hello", 3, 1};
constexpr std::string_view kTime = "2026-05-01T12:00:00.123Z";

std::vector<nlohmann::json> Records(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(LineFramerTest, EachLineIsOneRecordWithItsLabels) {
  LineFramer f(kLabels, "stdout");
  std::string out;
  f.Feed("listening on 127.0.0.1:8080\nsecond \"quoted\"\t\n", kTime, out);
  EXPECT_EQ(out,
            "{\"time\":\"2026-05-01T12:00:00.123Z\",\"app\":\"hello\",\"release\":3,\"replica\":1,"
            "\"stream\":\"stdout\",\"message\":\"listening on 127.0.0.1:8080\"}\n"
            "{\"time\":\"2026-05-01T12:00:00.123Z\",\"app\":\"hello\",\"release\":3,\"replica\":1,"
            "\"stream\":\"stdout\",\"message\":\"second \\\"quoted\\\"\\u0009\"}\n");
}

TEST(LineFramerTest, ALineSplitAcrossReadsIsOneRecord) {
  LineFramer f(kLabels, "stderr");
  std::string out;
  f.Feed("hel", kTime, out);
  EXPECT_EQ(out, "");
  f.Feed("lo\nwor", kTime, out);
  f.Feed("ld\n\n", kTime, out);
  auto r = Records(out);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0]["message"], "hello");
  EXPECT_EQ(r[1]["message"], "world");
  EXPECT_EQ(r[2]["message"], "");  // an empty line is kept
  EXPECT_EQ(r[0]["stream"], "stderr");
  EXPECT_FALSE(r[1].contains("partial"));
}

TEST(LineFramerTest, AnOverLongLineIsSplitIntoPartialPieces) {
  LineFramer f(kLabels, "stdout");
  std::string out;
  const std::string line(LineFramer::kMaxLine * 2 + 100, 'x');
  f.Feed(line + "\nnext\n", kTime, out);
  auto r = Records(out);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0]["message"].get<std::string>().size(), LineFramer::kMaxLine);
  EXPECT_EQ(r[0]["partial"], true);
  EXPECT_EQ(r[1]["message"].get<std::string>().size(), LineFramer::kMaxLine);
  EXPECT_EQ(r[1]["partial"], true);
  EXPECT_EQ(r[2]["message"].get<std::string>(), std::string(100, 'x'));
  EXPECT_FALSE(r[2].contains("partial"));  // the last piece ends the line
  EXPECT_EQ(r[3]["message"], "next");
}

TEST(LineFramerTest, AnUnfinishedLongLineIsNotHeldBack) {
  LineFramer f(kLabels, "stdout", 10);
  std::string out;
  f.Feed("0123456789abcdefghijKLM", kTime, out);  // no newline yet
  auto r = Records(out);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]["message"], "0123456789");
  EXPECT_EQ(r[1]["message"], "abcdefghij");
  out.clear();
  f.Feed("N\n", kTime, out);
  r = Records(out);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["message"], "KLMN");
  EXPECT_FALSE(r[0].contains("partial"));
}

TEST(LineFramerTest, PiecesDoNotCutAUtf8Character) {
  LineFramer f(kLabels, "stdout", 4);
  std::string out;
  f.Feed("ab\xC3\xA9\xC3\xA9\n", kTime, out);  // "abéé": é is 2 bytes, the limit falls inside
  auto r = Records(out);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]["message"], "ab\xC3\xA9");
  EXPECT_EQ(r[1]["message"], "\xC3\xA9");
}

TEST(LineFramerTest, InvalidUtf8BecomesReplacementCharacters) {
  LineFramer f(kLabels, "stdout");
  std::string out;
  f.Feed("bad \xFF byte\n", kTime, out);
  auto r = Records(out);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["message"], "bad \xEF\xBF\xBD byte");
}

TEST(LineFramerTest, FinishFlushesALastLineWithoutNewlineAsPartial) {
  LineFramer f(kLabels, "stdout");
  std::string out;
  f.Feed("done\nno newline", kTime, out);
  f.Finish(kTime, out);
  auto r = Records(out);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1]["message"], "no newline");
  EXPECT_EQ(r[1]["partial"], true);
  out.clear();
  f.Finish(kTime, out);
  EXPECT_EQ(out, "");
}

TEST(RotatingLogFileTest, RotatesByRenameAtTheCapWithoutLosingARecord) {
  TempDir dir;
  const std::string path = dir.path() + "/r.log";
  RotatingLogFile file(path, 100);
  std::string written;
  int n = 0;
  // Records of 10 bytes ("record NN\n"): the 11th would pass 100 bytes.
  for (; n < 15; ++n) {
    std::string rec = "record " + std::to_string(10 + n) + "\n";
    ASSERT_TRUE(file.Append(rec));
    written += rec;
  }
  EXPECT_EQ(ReadFile(path + ".1").size(), 100u);
  EXPECT_EQ(ReadFile(path + ".1") + ReadFile(path), written);
  // A batch that crosses the cap is split at a record boundary: nothing is lost or cut.
  std::string batch;
  for (int i = 0; i < 7; ++i) batch += "record " + std::to_string(30 + i) + "\n";
  ASSERT_TRUE(file.Append(batch));
  written += batch;
  EXPECT_EQ(ReadFile(path + ".1") + ReadFile(path), written.substr(written.size() - 120));
  EXPECT_LE(ReadFile(path).size(), 100u);
  EXPECT_LE(ReadFile(path + ".1").size(), 100u);
}

TEST(RotatingLogFileTest, ARecordLargerThanTheCapGetsAFileOfItsOwn) {
  TempDir dir;
  const std::string path = dir.path() + "/r.log";
  RotatingLogFile file(path, 10);
  ASSERT_TRUE(file.Append("small\n"));
  const std::string big = std::string(30, 'b') + "\n";
  ASSERT_TRUE(file.Append(big + "tail\n"));
  EXPECT_EQ(ReadFile(path + ".1"), big);
  EXPECT_EQ(ReadFile(path), "tail\n");
}

TEST(RotatingLogFileTest, AnUnwritableDirectoryIsAnErrorNotACrash) {
  RotatingLogFile file("/nonexistent-dir/r.log", 100);
  Status st = file.Append("x\n");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("/nonexistent-dir/r.log"), std::string::npos);
}

TEST(RunLogRelayTest, WrapsBothStreamsAndReturnsAtEofOfBoth) {
  TempDir dir;
  int out[2], err[2];
  ASSERT_EQ(pipe(out), 0);
  ASSERT_EQ(pipe(err), 0);
  LogRelayOptions o;
  o.labels = kLabels;
  o.path = dir.path() + "/r.log";
  o.stdout_fd = out[0];
  o.stderr_fd = err[0];
  int rc = -1;
  std::thread relay([&] { rc = RunLogRelay(o); });
  ASSERT_EQ(write(out[1], "to stdout\n", 10), 10);
  ASSERT_TRUE(testing::Eventually([&] { return ReadLogText(o.path) == "to stdout\n"; }));
  ASSERT_EQ(write(err[1], "to stderr\nunfinished", 20), 20);
  close(err[1]);
  // One stream ended: the relay keeps going for the other.
  ASSERT_TRUE(testing::Eventually([&] { return Records(ReadFile(o.path)).size() == 3; }));
  ASSERT_EQ(write(out[1], "more\n", 5), 5);
  close(out[1]);
  relay.join();
  EXPECT_EQ(rc, 0);
  auto r = Records(ReadFile(o.path));
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0]["stream"], "stdout");
  EXPECT_EQ(r[1]["stream"], "stderr");
  EXPECT_EQ(r[1]["message"], "to stderr");
  EXPECT_EQ(r[2]["message"], "unfinished");
  EXPECT_EQ(r[2]["partial"], true);
  EXPECT_EQ(r[3]["message"], "more");
  for (const auto& rec : r) {
    EXPECT_EQ(rec["app"], "hello");
    EXPECT_EQ(rec["release"], 3);
    EXPECT_EQ(rec["replica"], 1);
    EXPECT_EQ(rec["time"].get<std::string>().size(), kTime.size());
  }
}

TEST(RunLogRelayTest, KeepsEveryLineOfAFastWriterAcrossRotations) {
  TempDir dir;
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  LogRelayOptions o;
  o.labels = kLabels;
  o.path = dir.path() + "/r.log";
  o.max_bytes = 1 << 20;
  o.stdout_fd = out[0];
  std::thread relay([&] { RunLogRelay(o); });
  // About 1.3 MiB of records: one rotation, and every line survives it in order.
  constexpr int kLines = 10000;
  std::string all;
  for (int i = 0; i < kLines; ++i) all += "line " + std::to_string(i) + "\n";
  ASSERT_EQ(write(out[1], all.data(), all.size()), static_cast<ssize_t>(all.size()));
  close(out[1]);
  relay.join();
  ASSERT_FALSE(ReadFile(o.path + ".1").empty());
  EXPECT_EQ(ReadLogText(o.path + ".1") + ReadLogText(o.path), all);
  EXPECT_LE(ReadFile(o.path + ".1").size(), o.max_bytes);
}

std::set<int> OpenFds(pid_t pid) {
  std::set<int> fds;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    fds.insert(std::stoi(e.path().filename().string()));
  }
  return fds;
}

TEST(SpawnLogRelayTest, ARelayProcessHoldsOnlyItsPipesIgnoresSigtermAndExitsAtEof) {
  TempDir dir;
  // A descriptor of ours that the relay must not inherit (think: the daemon's listener).
  int ours = open("/dev/null", O_RDONLY);  // not close-on-exec
  ASSERT_GE(ours, 0);
  LogRelayOptions o;
  o.labels = kLabels;
  o.path = dir.path() + "/r.log";
  Result<LogRelayProcess> relay = SpawnLogRelay(o);
  close(ours);
  ASSERT_TRUE(relay) << relay.error().message;
  ASSERT_EQ(write(relay->stdout_fd, "hi\n", 3), 3);
  ASSERT_TRUE(testing::Eventually([&] { return ReadLogText(o.path) == "hi\n"; }, 10s))
      << ReadFile(o.path);
  EXPECT_EQ(OpenFds(relay->pid), (std::set<int>{0, 1, 2, 3, 4, 5}));  // 5: the log file
  EXPECT_EQ(getsid(relay->pid), relay->pid);                          // a session of its own
  // SIGTERM does not end it (only the end of its replica's output does).
  ASSERT_EQ(kill(relay->pid, SIGTERM), 0);
  ASSERT_EQ(write(relay->stderr_fd, "after term\n", 11), 11);
  ASSERT_TRUE(testing::Eventually([&] { return ReadLogText(o.path) == "hi\nafter term\n"; }, 10s));
  close(relay->stdout_fd);
  close(relay->stderr_fd);
  int status = 0;
  ASSERT_EQ(waitpid(relay->pid, &status, 0), relay->pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(SpawnLogRelayTest, AMissingProgramIsAnError) {
  LogRelayOptions o;
  o.path = "/tmp/unused.log";
  Result<LogRelayProcess> relay = SpawnLogRelay(o, "/nonexistent/slipway");
  ASSERT_FALSE(relay);
  EXPECT_NE(relay.error().message.find("/nonexistent/slipway"), std::string::npos);
}

TEST(LogRelayMainTest, BadArgumentsExitWithTwo) {
  std::string a0 = "--max-bytes", a1 = "lots";
  char* argv[] = {a0.data(), a1.data()};
  EXPECT_EQ(LogRelayMain(2, argv), 2);
  EXPECT_EQ(LogRelayMain(0, nullptr), 2);  // --path is required
}

}  // namespace
}  // namespace slipway::runtime
