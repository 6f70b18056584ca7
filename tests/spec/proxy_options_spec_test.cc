// proxy.balancing, outlier_detection, tls, timeouts, limits and gzip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

// Header-only use: the spec's defaults must be the proxy's own (no link dependency).
#include "proxy/proxy_server.h"
#include "spec/spec_parser.h"

namespace slipway::spec {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::vector<std::string> Messages(const ParseOutcome& outcome) {
  std::vector<std::string> out;
  for (const Diagnostic& d : outcome.diagnostics) out.push_back(d.ToString());
  return out;
}

ParseOutcome Parse(std::string_view text, const std::string& base_dir = "/srv/app") {
  return ParseAppSpec(text, "app.yaml", base_dir);
}

// A directory with placeholder cert.pem and key.pem (the parser never reads PEM).
class TlsFiles {
 public:
  TlsFiles() : dir_(fs::temp_directory_path() / ("proxy_spec_test_" + std::to_string(::getpid()))) {
    fs::create_directories(dir_ / "certs");
    std::ofstream(dir_ / "certs" / "cert.pem") << "cert\n";
    std::ofstream(dir_ / "certs" / "key.pem") << "key\n";
  }
  ~TlsFiles() { fs::remove_all(dir_); }
  std::string dir() const { return dir_.string(); }
  std::string path(const std::string& name) const { return (dir_ / "certs" / name).string(); }

 private:
  fs::path dir_;
};

TEST(ProxyOptionsSpecTest, DefaultsAreTheProxysDefaults) {
  ParseOutcome outcome = Parse("app: a\ncommand: ./a\n");
  ASSERT_TRUE(outcome.spec.has_value());
  const ProxyConfig& spec = outcome.spec->proxy;
  const proxy::ListenerOptions proxy;

  EXPECT_EQ(spec.balancing, Balancing::kLeastRequests);
  EXPECT_EQ(proxy.balancing, proxy::Balancing::kLeastRequests);

  EXPECT_EQ(spec.outlier_detection.enabled, proxy.outlier.enabled);
  EXPECT_EQ(spec.outlier_detection.consecutive_failures, proxy.outlier.consecutive_failures);
  EXPECT_EQ(spec.outlier_detection.count_5xx, proxy.outlier.count_5xx);
  EXPECT_EQ(spec.outlier_detection.base_ejection, proxy.outlier.base_ejection);
  EXPECT_EQ(spec.outlier_detection.max_ejection, proxy.outlier.max_ejection);
  EXPECT_EQ(spec.outlier_detection.max_ejected_percent, proxy.outlier.max_ejected_percent);

  EXPECT_EQ(spec.tls.cert, proxy.tls.cert_file);
  EXPECT_EQ(spec.tls.key, proxy.tls.key_file);
  EXPECT_EQ(spec.tls.redirect_http, proxy.tls.redirect_http_listen);
  EXPECT_EQ(spec.tls.hsts, proxy.tls.hsts);

  EXPECT_EQ(spec.timeouts.header, proxy.timeouts.header);
  EXPECT_EQ(spec.timeouts.idle, proxy.timeouts.idle);
  EXPECT_EQ(spec.timeouts.upstream_connect, proxy.timeouts.upstream_connect);
  EXPECT_EQ(spec.timeouts.upstream_response, proxy.timeouts.upstream_response);
  EXPECT_EQ(spec.timeouts.total, proxy.timeouts.total);

  EXPECT_EQ(spec.limits.max_request_body, proxy.limits.max_request_body);
  EXPECT_EQ(spec.limits.max_header_bytes, proxy.limits.max_header_bytes);
  EXPECT_EQ(spec.limits.max_uri_bytes, proxy.limits.max_uri_bytes);
  EXPECT_EQ(spec.limits.max_connections, proxy.limits.max_connections);

  EXPECT_EQ(spec.gzip, proxy.gzip);
}

TEST(ProxyOptionsSpecTest, DefaultsAsDocumented) {
  const ProxyConfig spec;
  EXPECT_EQ(spec.outlier_detection.consecutive_failures, 5);
  EXPECT_EQ(spec.outlier_detection.base_ejection, 10s);
  EXPECT_EQ(spec.outlier_detection.max_ejection, 5min);
  EXPECT_EQ(spec.outlier_detection.max_ejected_percent, 50);
  EXPECT_EQ(spec.tls.hsts, "max-age=31536000");
  EXPECT_EQ(spec.timeouts.header, 30s);
  EXPECT_EQ(spec.timeouts.idle, 75s);
  EXPECT_EQ(spec.timeouts.upstream_connect, 5s);
  EXPECT_EQ(spec.timeouts.upstream_response, 60s);
  EXPECT_EQ(spec.timeouts.total, 5min);
  EXPECT_EQ(spec.limits.max_request_body, 1u << 30);
  EXPECT_EQ(spec.limits.max_header_bytes, 32u << 10);
  EXPECT_EQ(spec.limits.max_uri_bytes, 8u << 10);
  EXPECT_EQ(spec.limits.max_connections, 10'000u);
  EXPECT_TRUE(spec.gzip);
}

TEST(ProxyOptionsSpecTest, EveryFieldAsWritten) {
  TlsFiles files;
  ParseOutcome outcome = Parse(R"(app: a
command: ./a
proxy:
  listen: 127.0.0.1:8443
  balancing: round-robin
  outlier_detection:
    enabled: true
    consecutive_failures: 3
    count_5xx: false
    base_ejection: 500ms
    max_ejection: 1m
    max_ejected_percent: 0
  tls:
    cert: certs/cert.pem
    key: ./certs/../certs/key.pem
    redirect_http: 127.0.0.1:8080
    hsts: "max-age=63072000; includeSubDomains; preload"
  timeouts:
    header: 5s
    idle: 100ms
    upstream_connect: 1m
    upstream_response: 2m
    total: 2m
  limits:
    max_request_body: 10Mi
    max_header_bytes: 1Mi
    max_uri_bytes: 1Mi
    max_connections: 1000000
  gzip: false
)",
                               files.dir());
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  const ProxyConfig& proxy = outcome.spec->proxy;
  EXPECT_EQ(proxy.balancing, Balancing::kRoundRobin);
  EXPECT_TRUE(proxy.outlier_detection.enabled);
  EXPECT_EQ(proxy.outlier_detection.consecutive_failures, 3);
  EXPECT_FALSE(proxy.outlier_detection.count_5xx);
  EXPECT_EQ(proxy.outlier_detection.base_ejection, 500ms);
  EXPECT_EQ(proxy.outlier_detection.max_ejection, 1min);
  EXPECT_EQ(proxy.outlier_detection.max_ejected_percent, 0);
  // Relative paths are resolved against the spec file's directory, like `command`.
  EXPECT_EQ(proxy.tls.cert, files.path("cert.pem"));
  EXPECT_EQ(proxy.tls.key, files.path("key.pem"));
  EXPECT_EQ(proxy.tls.redirect_http, "127.0.0.1:8080");
  EXPECT_EQ(proxy.tls.hsts, "max-age=63072000; includeSubDomains; preload");
  EXPECT_EQ(proxy.timeouts.header, 5s);
  EXPECT_EQ(proxy.timeouts.idle, 100ms);
  EXPECT_EQ(proxy.timeouts.upstream_connect, 1min);
  EXPECT_EQ(proxy.timeouts.upstream_response, 2min);
  EXPECT_EQ(proxy.timeouts.total, 2min);
  EXPECT_EQ(proxy.limits.max_request_body, 10u << 20);
  EXPECT_EQ(proxy.limits.max_header_bytes, 1u << 20);
  EXPECT_EQ(proxy.limits.max_uri_bytes, 1u << 20);
  EXPECT_EQ(proxy.limits.max_connections, 1'000'000u);
  EXPECT_FALSE(proxy.gzip);
}

TEST(ProxyOptionsSpecTest, AbsoluteTlsPathsAndNoHsts) {
  TlsFiles files;
  ParseOutcome outcome =
      Parse("app: a\ncommand: ./a\nproxy:\n  tls:\n    cert: " + files.path("cert.pem") +
            "\n    key: " + files.path("key.pem") + "\n    hsts: \"\"\n");
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  EXPECT_EQ(outcome.spec->proxy.tls.cert, files.path("cert.pem"));
  EXPECT_EQ(outcome.spec->proxy.tls.key, files.path("key.pem"));
  EXPECT_EQ(outcome.spec->proxy.tls.redirect_http, "");
  EXPECT_EQ(outcome.spec->proxy.tls.hsts, "");
}

TEST(ProxyOptionsSpecTest, EmptySectionsMeanDefaults) {
  ParseOutcome outcome =
      Parse("app: a\ncommand: ./a\nproxy:\n  outlier_detection:\n  tls:\n  timeouts:\n  limits:\n");
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  EXPECT_EQ(outcome.spec->proxy.tls.cert, "");
  EXPECT_EQ(outcome.spec->proxy.timeouts.total, 5min);
}

TEST(ProxyOptionsSpecTest, ReportsEveryBadValueAtItsPosition) {
  ParseOutcome outcome = Parse(R"(app: a
command: ./a
proxy:
  balancing: fastest
  outlier_detection:
    enabled: on
    consecutive_failures: many
    count_5xx: 1
    base_ejection: 0s
    max_ejection: 2y
    max_ejected_percent: -1
  tls:
    cert: ""
    key: /nonexistent/key.pem
    redirect_http: 8080
    hsts: " max-age=1"
  timeouts:
    header: 2h
    idle: soon
    upstream_connect: 2m
    upstream_response: 0
    total: 25h
  limits:
    max_request_body: 2Ti
    max_header_bytes: 512
    max_uri_bytes: 100
    max_connections: lots
  gzip: 1
)");
  EXPECT_FALSE(outcome.spec.has_value());
  EXPECT_EQ(
      Messages(outcome),
      (std::vector<std::string>{
          "app.yaml:4:14: proxy.balancing: unknown balancing policy \"fastest\"; supported: "
          "least-requests, round-robin",
          "app.yaml:6:14: proxy.outlier_detection.enabled: expected true or false, got \"on\"",
          "app.yaml:7:27: proxy.outlier_detection.consecutive_failures: expected an integer, "
          "got \"many\"",
          "app.yaml:8:16: proxy.outlier_detection.count_5xx: expected true or false, got \"1\"",
          "app.yaml:9:20: proxy.outlier_detection.base_ejection: 0s is out of range "
          "(100ms..1h)",
          "app.yaml:10:19: proxy.outlier_detection.max_ejection: \"2y\" is not a duration "
          "(examples: 500ms, 10s, 2m)",
          "app.yaml:11:26: proxy.outlier_detection.max_ejected_percent: -1 is out of range "
          "(0..100)",
          "app.yaml:13:11: proxy.tls.cert: must not be empty",
          "app.yaml:14:10: proxy.tls.key: \"/nonexistent/key.pem\" cannot be read: No such file "
          "or directory",
          "app.yaml:15:20: proxy.tls.redirect_http: \"8080\" is not host:port (examples: "
          "127.0.0.1:8080, [::1]:8080, localhost:8080)",
          "app.yaml:16:11: proxy.tls.hsts: \" max-age=1\" is not a valid header value "
          "(printable ASCII on one line, no leading or trailing spaces)",
          "app.yaml:18:13: proxy.timeouts.header: 2h is out of range (100ms..1h)",
          "app.yaml:19:11: proxy.timeouts.idle: \"soon\" is not a duration (examples: 500ms, "
          "10s, 2m)",
          "app.yaml:20:23: proxy.timeouts.upstream_connect: 2m is out of range (100ms..1m)",
          "app.yaml:21:24: proxy.timeouts.upstream_response: 0 is out of range (100ms..1h)",
          "app.yaml:22:12: proxy.timeouts.total: 25h is out of range (100ms..24h)",
          "app.yaml:24:23: proxy.limits.max_request_body: 2Ti is out of range (1Ki..1Ti)",
          "app.yaml:25:23: proxy.limits.max_header_bytes: 512 is out of range (1Ki..1Mi)",
          "app.yaml:26:20: proxy.limits.max_uri_bytes: 100 is out of range (256..1Mi)",
          "app.yaml:27:22: proxy.limits.max_connections: expected an integer, got \"lots\"",
          "app.yaml:28:9: proxy.gzip: expected true or false, got \"1\""}));
}

TEST(ProxyOptionsSpecTest, TlsNeedsBothFiles) {
  TlsFiles files;
  EXPECT_EQ(Messages(Parse("app: a\ncommand: ./a\nproxy:\n  tls:\n    cert: certs/cert.pem\n",
                           files.dir())),
            (std::vector<std::string>{"app.yaml:5:5: proxy.tls: missing required field \"key\""}));
  EXPECT_EQ(Messages(Parse("app: a\ncommand: ./a\nproxy:\n  tls: {}\n", files.dir())),
            (std::vector<std::string>{"app.yaml:4:8: proxy.tls: missing required field \"cert\"",
                                      "app.yaml:4:8: proxy.tls: missing required field \"key\""}));
}

TEST(ProxyOptionsSpecTest, CrossFieldRulesNameBothValues) {
  EXPECT_EQ(Messages(Parse(R"(app: a
command: ./a
proxy:
  outlier_detection:
    base_ejection: 1m
    max_ejection: 30s
  timeouts:
    upstream_response: 10m
  limits:
    max_header_bytes: 4Ki
    max_uri_bytes: 8Ki
)")),
            (std::vector<std::string>{
                "app.yaml:4:3: proxy.outlier_detection: max_ejection (30s) must be at least "
                "base_ejection (1m)",
                "app.yaml:7:3: proxy.timeouts: total (5m, the default) must be at least "
                "upstream_response (10m)",
                "app.yaml:9:3: proxy.limits: max_uri_bytes (8Ki) must not exceed "
                "max_header_bytes (4Ki): the request target is part of the head"}));
}

TEST(ProxyOptionsSpecTest, NoCrossFieldMessageWhenAPartIsInvalid) {
  // One problem, one message: the bad value is reported, not a rule it cannot be judged by.
  EXPECT_EQ(
      Messages(Parse(R"(app: a
command: ./a
proxy:
  outlier_detection:
    base_ejection: 2h
    max_ejection: 1s
  timeouts:
    upstream_response: 2h
    total: 1s
)")),
      (std::vector<std::string>{
          "app.yaml:5:20: proxy.outlier_detection.base_ejection: 2h is out of range "
          "(100ms..1h)",
          "app.yaml:8:24: proxy.timeouts.upstream_response: 2h is out of range (100ms..1h)"}));
}

TEST(ProxyOptionsSpecTest, BalancingTypoGetsASuggestion) {
  EXPECT_EQ(Messages(Parse("app: a\ncommand: ./a\nproxy:\n  balancing: round_robin\n")),
            (std::vector<std::string>{
                "app.yaml:4:14: proxy.balancing: unknown balancing policy \"round_robin\"; did "
                "you mean \"round-robin\"?"}));
}

}  // namespace
}  // namespace slipway::spec
