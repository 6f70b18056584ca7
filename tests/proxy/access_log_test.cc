// The access log: one JSON line per answered request, written by its own thread, rotated by
// size, switched per listener.
#include "proxy/access_log.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proxy_test_fixture.h"

namespace slipway::proxy::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/slipway-access-log-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<json> ReadLines(const fs::path& file) {
  std::vector<json> lines;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) lines.push_back(json::parse(line));  // throws on a bad line
  return lines;
}

std::uint16_t PortOf(const std::string& bound) {
  return static_cast<std::uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
}

class AccessLogTest : public ProxyTest {
 protected:
  void StartLoggingProxy(BackendList backends, std::uint64_t max_bytes = 1 << 20) {
    pool_->Publish(std::move(backends));
    server_ = std::make_unique<ProxyServer>(2, log_path_.string(), max_bytes);
    ASSERT_TRUE(server_->AddListener({"hello", "127.0.0.1:0", pool_}).ok());
    port_ = PortOf(server_->BoundAddress("hello"));
  }

  // A request's line is pushed just after its answer is written, so a client that has read the
  // answer may still be ahead of the log: poll until `n` lines are there.
  std::vector<json> WaitForLines(std::size_t n) {
    std::vector<json> lines;
    WaitFor([&] {
      server_->FlushAccessLog();
      lines = ReadLines(log_path_);
      return lines.size() >= n;
    });
    return lines;
  }

  TempDir dir_;
  fs::path log_path_ = dir_.path() / "logs" / "access.log";
};

TEST_F(AccessLogTest, OneLinePerRequestWithTheFieldsTheClientSaw) {
  TestBackend a("a");
  std::shared_ptr<Backend> backend = a.MakeBackend();
  backend->release = 7;
  StartLoggingProxy({backend});
  TestClient client = Client();
  std::vector<std::string> ids;
  constexpr int kRequests = 5;
  for (int i = 0; i < kRequests; ++i) {
    Message response = client.RoundTrip(Get("/items/" + std::to_string(i) + "?token=secret"));
    ASSERT_EQ(response.status, 200);
    ids.push_back(response.Header("X-Request-ID"));
  }
  std::vector<json> lines = WaitForLines(kRequests);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kRequests));
  const std::regex rfc3339_ms(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  for (int i = 0; i < kRequests; ++i) {
    const json& line = lines[i];
    EXPECT_TRUE(std::regex_match(line["time"].get<std::string>(), rfc3339_ms)) << line;
    EXPECT_EQ(line["request_id"], ids[i]);
    EXPECT_EQ(line["app"], "hello");
    EXPECT_EQ(line["method"], "GET");
    EXPECT_EQ(line["path"], "/items/" + std::to_string(i));  // the query is never logged
    EXPECT_EQ(line["status"], 200);
    EXPECT_EQ(line["bytes_sent"], 1);  // the body "a"
    ASSERT_TRUE(line["duration_ms"].is_number()) << line;
    EXPECT_GE(line["duration_ms"].get<double>(), 0.0);
    EXPECT_EQ(line["upstream"], "a");
    EXPECT_EQ(line["release"], 7);
    EXPECT_EQ(line["client"], "127.0.0.1");
  }
  std::ifstream raw(log_path_);
  std::string text((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("secret"), std::string::npos);
}

TEST_F(AccessLogTest, LocalAnswersHaveNoUpstream) {
  StartLoggingProxy({});
  Message response =
      Client().RoundTrip("POST /submit HTTP/1.1\r\nHost: app.test\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_EQ(response.status, 503);
  std::vector<json> lines = WaitForLines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["method"], "POST");
  EXPECT_EQ(lines[0]["status"], 503);
  EXPECT_EQ(lines[0]["bytes_sent"], response.body.size());
  EXPECT_TRUE(lines[0]["upstream"].is_null());
  EXPECT_TRUE(lines[0]["release"].is_null());
  EXPECT_EQ(lines[0]["request_id"], response.Header("X-Request-ID"));
}

TEST_F(AccessLogTest, RotatesAtTheMaximumSizeKeepingOneCopy) {
  TestBackend a("a");
  constexpr std::uint64_t kMaxBytes = 1024;  // a line is ~250 bytes
  StartLoggingProxy({a.MakeBackend()}, kMaxBytes);
  TestClient client = Client();
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(client.RoundTrip(Get()).status, 200);
    server_->FlushAccessLog();  // one batch per request, so each may rotate
  }
  fs::path rotated = log_path_.string() + ".1";
  ASSERT_TRUE(fs::exists(rotated));
  EXPECT_LE(fs::file_size(log_path_), kMaxBytes);
  EXPECT_LE(fs::file_size(rotated), kMaxBytes);
  std::size_t kept = ReadLines(log_path_).size() + ReadLines(rotated).size();
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, static_cast<std::size_t>(kRequests));  // older lines went with rotation
  EXPECT_FALSE(fs::exists(log_path_.string() + ".2"));
}

TEST_F(AccessLogTest, ADisabledListenerWritesNothing) {
  TestBackend a("a");
  StartLoggingProxy({a.MakeBackend()});
  ListenerOptions quiet{"quiet", "127.0.0.1:0", pool_};
  quiet.access_log = false;
  ASSERT_TRUE(server_->AddListener(quiet).ok());
  TestClient quiet_client(PortOf(server_->BoundAddress("quiet")));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(quiet_client.RoundTrip(Get()).status, 200);
  ASSERT_EQ(Client().RoundTrip(Get()).status, 200);  // the logged listener, as a marker
  // The quiet requests were answered before the marker was sent: had they been logged, their
  // lines would (all but certainly) be there by the time the marker's is.
  ASSERT_EQ(WaitForLines(1).size(), 1u);
  server_->FlushAccessLog();
  std::vector<json> lines = ReadLines(log_path_);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["app"], "hello");
}

TEST(AccessLogUnitTest, AFullQueueDropsAndCounts) {
  TempDir dir;
  AccessLog log((dir.path() / "access.log").string(), AccessLog::kDefaultMaxBytes,
                /*queue_limit=*/0);
  for (int i = 0; i < 3; ++i) log.Push(AccessRecord{});
  log.Flush();
  EXPECT_EQ(log.dropped(), 3u);
  EXPECT_FALSE(fs::exists(dir.path() / "access.log"));
}

TEST(AccessLogUnitTest, DestructionWritesWhatIsQueued) {
  TempDir dir;
  fs::path file = dir.path() / "nested" / "access.log";
  {
    AccessLog log(file.string());
    for (int i = 0; i < 100; ++i) {
      AccessRecord record;
      record.request_id = "id-" + std::to_string(i);
      record.app = "hello";
      log.Push(std::move(record));
    }
  }
  std::vector<json> lines = ReadLines(file);
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_EQ(lines[99]["request_id"], "id-99");
  EXPECT_TRUE(lines[0]["method"].is_null());
}

TEST(AccessLogUnitTest, PathWithoutQuery) {
  EXPECT_EQ(AccessLog::PathWithoutQuery("/a/b?x=1&y=2"), "/a/b");
  EXPECT_EQ(AccessLog::PathWithoutQuery("/a/b"), "/a/b");
  EXPECT_EQ(AccessLog::PathWithoutQuery("*"), "*");
}

}  // namespace
}  // namespace slipway::proxy::testing

namespace slipway::proxy {
namespace {

TEST(AccessLogLineTest, EveryFieldIsValidJsonWhateverThePathHolds) {
  AccessRecord r;
  r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1714564800123));
  r.request_id = "abc";
  r.app = "hello";
  r.method = "GET";
  r.path =
      "/q\"uote\\back\x01"
      "ctl/caf\xc3\xa9/bad\xff\xc3(/\xf0\x9f\x9a\x80";
  r.status = 200;
  r.bytes_sent = 5;
  r.duration_ms = 0.4204999;
  r.client = "127.0.0.1";
  std::string line;
  AccessLog::AppendLine(line, r);
  ASSERT_EQ(line.back(), '\n');
  nlohmann::json j = nlohmann::json::parse(line);  // throws on invalid JSON or UTF-8
  EXPECT_EQ(j["time"], "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(j["path"],
            "/q\"uote\\back\x01"
            "ctl/caf\xc3\xa9/bad\xef\xbf\xbd\xef\xbf\xbd(/\xf0\x9f\x9a\x80");
  EXPECT_EQ(j["status"], 200);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 0.42);
  EXPECT_TRUE(j["upstream"].is_null());
  EXPECT_TRUE(j["release"].is_null());
  EXPECT_EQ(j["client"], "127.0.0.1");
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys.size(), 11u);
}

}  // namespace
}  // namespace slipway::proxy
