// The `alerts` section: defaults, every field, the built-in rules' switches and settings, user
// rules; and where problems inside an expression are reported.
#include <gtest/gtest.h>

#include "spec/spec_parser.h"

namespace slipway::spec {
namespace {

using namespace std::chrono_literals;

ParseOutcome Parse(const std::string& tail) {
  return ParseAppSpec("app: hello\ncommand: ./hello\n" + tail, "app.yaml", "/srv");
}

AppSpec ParseOk(const std::string& tail) {
  ParseOutcome outcome = Parse(tail);
  for (const Diagnostic& d : outcome.diagnostics) ADD_FAILURE() << d.ToString();
  return outcome.spec.value_or(AppSpec{});
}

std::vector<std::string> Problems(const std::string& tail) {
  std::vector<std::string> out;
  for (const Diagnostic& d : Parse(tail).diagnostics) out.push_back(d.ToString());
  return out;
}

TEST(AlertsSpecTest, DefaultsAreTheBuiltInRulesOnAndNoReceiver) {
  const AlertsConfig alerts = ParseOk("").alerts;
  EXPECT_TRUE(alerts.receivers.empty());
  EXPECT_EQ(alerts.evaluation_interval, 1s);
  EXPECT_EQ(alerts.group_wait, 30s);
  EXPECT_EQ(alerts.group_interval, 5min);
  EXPECT_EQ(alerts.repeat_interval, 4h);
  EXPECT_EQ(alerts.retry.initial_backoff, 1s);
  EXPECT_EQ(alerts.retry.max_backoff, 1min);
  EXPECT_EQ(alerts.retry.give_up_after, 1h);
  const BuiltinAlerts& b = alerts.builtin;
  EXPECT_TRUE(b.error_rate.enabled);
  EXPECT_DOUBLE_EQ(b.error_rate.threshold, 0.05);
  EXPECT_EQ(b.error_rate.window, 300s);
  EXPECT_EQ(b.error_rate.for_duration, 5min);
  EXPECT_EQ(b.error_rate.severity, "critical");
  EXPECT_TRUE(b.latency_p95.enabled);
  EXPECT_DOUBLE_EQ(b.latency_p95.threshold, 1.0);
  EXPECT_EQ(b.latency_p95.for_duration, 5min);
  EXPECT_EQ(b.latency_p95.severity, "warning");
  EXPECT_TRUE(b.crash_looping.enabled);
  EXPECT_EQ(b.crash_looping.restarts, 3);
  EXPECT_EQ(b.crash_looping.window, 600s);
  EXPECT_TRUE(b.deploy_failed.enabled);
  EXPECT_EQ(b.deploy_failed.resolve_after, 5min);
  EXPECT_TRUE(b.rollback.enabled);
  EXPECT_TRUE(alerts.rules.empty());
}

TEST(AlertsSpecTest, EveryField) {
  const AlertsConfig alerts = ParseOk(R"(alerts:
  evaluation_interval: 500ms
  external_url: http://slipway.example.com
  receivers:
    - name: ops
      url: http://127.0.0.1:9093/api/hook
      timeout: 3s
    - {name: pager, url: "http://pager.internal/alert"}
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  retry: {initial_backoff: 200ms, max_backoff: 5s, give_up_after: 10m}
  builtin:
    error_rate: {threshold: 2%, window: 1m, for: 2s, severity: page}
    latency_p95: {threshold: 300ms, for: 1m}
    crash_looping: {restarts: 5, window: 30m}
    deploy_failed: false
    rollback: {resolve_after: 1h}
  rules:
    - name: SlowCheckout
      expr: latency_p99(5m) > 2s and requests(5m) >= 50
      for: 10m
      labels: {team: shop}
      annotations:
        summary: "p99 is {{ $value }}"
        runbook_url: https://runbooks.example.com/slow
    - name: NoTraffic
      expr: requests(10m) == 0
)")
                                  .alerts;
  EXPECT_EQ(alerts.evaluation_interval, 500ms);
  EXPECT_EQ(alerts.external_url, "http://slipway.example.com");
  ASSERT_EQ(alerts.receivers.size(), 2u);
  EXPECT_EQ(alerts.receivers[0].name, "ops");
  EXPECT_EQ(alerts.receivers[0].url, "http://127.0.0.1:9093/api/hook");
  EXPECT_EQ(alerts.receivers[0].timeout, 3s);
  EXPECT_EQ(alerts.receivers[1].timeout, 10s);
  EXPECT_EQ(alerts.group_wait, 0s);
  EXPECT_EQ(alerts.group_interval, 1s);
  EXPECT_EQ(alerts.repeat_interval, 1h);
  EXPECT_EQ(alerts.retry.initial_backoff, 200ms);
  EXPECT_EQ(alerts.retry.max_backoff, 5s);
  EXPECT_EQ(alerts.retry.give_up_after, 10min);
  EXPECT_DOUBLE_EQ(alerts.builtin.error_rate.threshold, 0.02);
  EXPECT_EQ(alerts.builtin.error_rate.window, 60s);
  EXPECT_EQ(alerts.builtin.error_rate.for_duration, 2s);
  EXPECT_EQ(alerts.builtin.error_rate.severity, "page");
  EXPECT_DOUBLE_EQ(alerts.builtin.latency_p95.threshold, 0.3);
  EXPECT_EQ(alerts.builtin.latency_p95.window, 300s);
  EXPECT_EQ(alerts.builtin.crash_looping.restarts, 5);
  EXPECT_EQ(alerts.builtin.crash_looping.window, 1800s);
  EXPECT_FALSE(alerts.builtin.deploy_failed.enabled);
  EXPECT_TRUE(alerts.builtin.rollback.enabled);
  EXPECT_EQ(alerts.builtin.rollback.resolve_after, 1h);
  ASSERT_EQ(alerts.rules.size(), 2u);
  const AlertRuleSpec& rule = alerts.rules[0];
  EXPECT_EQ(rule.name, "SlowCheckout");
  EXPECT_EQ(rule.expr, "latency_p99(5m) > 2s and requests(5m) >= 50");
  EXPECT_EQ(rule.for_duration, 10min);
  EXPECT_EQ(rule.labels, (std::map<std::string, std::string>{{"team", "shop"}}));
  EXPECT_EQ(rule.annotations.at("summary"), "p99 is {{ $value }}");
  EXPECT_EQ(alerts.rules[1].for_duration, 0s);
}

TEST(AlertsSpecTest, BuiltinRulesTurnOffAndOnWithABoolean) {
  const BuiltinAlerts b = ParseOk(R"(alerts:
  builtin:
    error_rate: false
    latency_p95: false
    crash_looping: false
    deploy_failed: true
    rollback: {enabled: false}
)")
                              .alerts.builtin;
  EXPECT_FALSE(b.error_rate.enabled);
  EXPECT_FALSE(b.latency_p95.enabled);
  EXPECT_FALSE(b.crash_looping.enabled);
  EXPECT_TRUE(b.deploy_failed.enabled);
  EXPECT_FALSE(b.rollback.enabled);
}

TEST(AlertsSpecTest, ExpressionProblemsPointInsideTheValue) {
  // Plain, double-quoted and single-quoted values: the column is that of the token at fault.
  EXPECT_EQ(
      Problems("alerts:\n  rules:\n    - name: A\n      expr: errors(1m) > 1 and bogus(1m) > 1\n"),
      std::vector<std::string>{"app.yaml:6:32: alerts.rules[0].expr: unknown function "
                               "\"bogus\"; supported: requests, errors, error_rate, "
                               "request_rate, latency_p50, latency_p90, latency_p95, "
                               "latency_p99, replica_restarts"});
  EXPECT_EQ(Problems("alerts:\n  rules:\n    - name: A\n      expr: \"errors(1m) > 1m\"\n"),
            std::vector<std::string>{"app.yaml:6:27: alerts.rules[0].expr: errors is a count: "
                                     "expected a plain number, got \"1m\""});
  EXPECT_EQ(Problems("alerts:\n  rules:\n    - {name: A, expr: 'errors(1m) >'}\n"),
            std::vector<std::string>{"app.yaml:5:36: alerts.rules[0].expr: expected a threshold "
                                     "after the operator, e.g. errors(5m) > 100"});
}

TEST(AlertsSpecTest, EveryProblemIsReported) {
  auto problems = Problems(R"(alerts:
  receivers:
    - {name: ops, url: "http://127.0.0.1:9093/"}
    - {name: ops, url: "http://127.0.0.1:0/"}
    - name: "bad name"
      url: http://x/
  rules:
    - name: 1st
      expr: errors(1m) > 1
    - name: Dup
      expr: errors(1m) > 1
    - name: Dup
      expr: errors(1m) > 2
      for: soon
)");
  EXPECT_EQ(
      problems,
      (std::vector<std::string>{
          "app.yaml:6:14: alerts.receivers[1].name: another receiver is already named \"ops\"",
          "app.yaml:6:24: alerts.receivers[1].url: \"http://127.0.0.1:0/\": port \"0\" is "
          "not in 1..65535",
          "app.yaml:7:13: alerts.receivers[2].name: \"bad name\" is not a receiver name "
          "(letters, digits, '_', '-' and '.')",
          "app.yaml:10:13: alerts.rules[0].name: \"1st\" is not an alert name (letters, "
          "digits and '_', not starting with a digit), e.g. HighCheckoutLatency",
          "app.yaml:16:12: alerts.rules[2].for: \"soon\" is not a duration (examples: "
          "500ms, 10s, 2m)"}));
}

}  // namespace
}  // namespace slipway::spec
