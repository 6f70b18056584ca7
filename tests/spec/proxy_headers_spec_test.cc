// proxy.security_headers, proxy.hide_headers and proxy.access_log.
#include <gtest/gtest.h>

#include "spec/spec_parser.h"

namespace slipway::spec {
namespace {

ParseOutcome Parse(std::string_view text) { return ParseAppSpec(text, "app.yaml", "/srv/app"); }

std::vector<std::string> Messages(const ParseOutcome& outcome) {
  std::vector<std::string> out;
  for (const Diagnostic& d : outcome.diagnostics) out.push_back(d.ToString());
  return out;
}

TEST(ProxyHeadersSpecTest, DefaultsWhenAbsent) {
  ParseOutcome outcome = Parse("app: a\ncommand: ./a\n");
  ASSERT_TRUE(outcome.spec.has_value());
  const ProxyConfig& proxy = outcome.spec->proxy;
  EXPECT_TRUE(proxy.security_headers.enabled);
  EXPECT_EQ(proxy.security_headers.content_security_policy, "");
  EXPECT_EQ(proxy.security_headers.frame_options, "DENY");
  EXPECT_EQ(proxy.security_headers.referrer_policy, "strict-origin-when-cross-origin");
  EXPECT_FALSE(proxy.security_headers.override);
  EXPECT_EQ(proxy.hide_headers, (std::vector<std::string>{"Server", "X-Powered-By"}));
  EXPECT_TRUE(proxy.access_log);
}

TEST(ProxyHeadersSpecTest, EveryFieldAsWritten) {
  ParseOutcome outcome = Parse(R"(app: a
command: ./a
proxy:
  security_headers:
    enabled: true
    content_security_policy: "default-src 'self'; img-src *"
    frame_options: SAMEORIGIN
    referrer_policy: no-referrer
    override: true
  hide_headers: [Server, X-AspNet-Version]
  access_log: false
)");
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  const ProxyConfig& proxy = outcome.spec->proxy;
  EXPECT_EQ(proxy.security_headers.content_security_policy, "default-src 'self'; img-src *");
  EXPECT_EQ(proxy.security_headers.frame_options, "SAMEORIGIN");
  EXPECT_EQ(proxy.security_headers.referrer_policy, "no-referrer");
  EXPECT_TRUE(proxy.security_headers.override);
  EXPECT_EQ(proxy.hide_headers, (std::vector<std::string>{"Server", "X-AspNet-Version"}));
  EXPECT_FALSE(proxy.access_log);
}

TEST(ProxyHeadersSpecTest, EmptyValuesTurnHeadersOff) {
  ParseOutcome outcome = Parse(R"(app: a
command: ./a
proxy:
  security_headers:
    frame_options: ""
    referrer_policy: ""
  hide_headers: []
)");
  ASSERT_TRUE(outcome.spec.has_value()) << testing::PrintToString(Messages(outcome));
  EXPECT_EQ(outcome.spec->proxy.security_headers.frame_options, "");
  EXPECT_EQ(outcome.spec->proxy.security_headers.referrer_policy, "");
  EXPECT_TRUE(outcome.spec->proxy.hide_headers.empty());
}

TEST(ProxyHeadersSpecTest, ReportsEveryBadValueAtItsPosition) {
  ParseOutcome outcome = Parse(R"(app: a
command: ./a
proxy:
  security_headers:
    enabled: yes
    content_security_policy: " default-src 'self'"
    frame_options: deny
    referrer_policy: strict-origin-when-crossorigin
    overide: true
  hide_headers: ["Bad Name", content-length]
  access_log: 1
)");
  EXPECT_EQ(
      Messages(outcome),
      (std::vector<std::string>{
          "app.yaml:5:14: proxy.security_headers.enabled: expected true or false, got \"yes\"",
          "app.yaml:6:30: proxy.security_headers.content_security_policy: \" default-src "
          "'self'\" is not a valid header value (printable ASCII on one line, no leading or "
          "trailing spaces)",
          "app.yaml:7:20: proxy.security_headers.frame_options: unknown frame option \"deny\"; "
          "did you mean \"DENY\"? (or \"\" to send none)",
          "app.yaml:8:22: proxy.security_headers.referrer_policy: unknown referrer policy "
          "\"strict-origin-when-crossorigin\"; did you mean "
          "\"strict-origin-when-cross-origin\"? (or \"\" to send none)",
          "app.yaml:9:5: proxy.security_headers: unknown key \"overide\"; did you mean "
          "\"override\"?",
          "app.yaml:10:18: proxy.hide_headers[0]: \"Bad Name\" is not a header name",
          "app.yaml:10:30: proxy.hide_headers[1]: Content-Length is managed by the proxy and "
          "cannot be hidden",
          "app.yaml:11:15: proxy.access_log: expected true or false, got \"1\""}));
}

}  // namespace
}  // namespace slipway::spec
