// The `slo` section (each objective optional, both forms of availability) and the settings of
// the ErrorBudgetBurn rule; problems are reported at the value at fault.
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

TEST(SloSpecTest, NoSectionNoObjectives) {
  const AppSpec spec = ParseOk("");
  EXPECT_TRUE(spec.slo.empty());
  // The burn-rate rule is on by default with the SRE workbook's window pairs.
  const BuiltinBurnRateAlert& burn = spec.alerts.builtin.error_budget_burn;
  EXPECT_TRUE(burn.enabled);
  ASSERT_EQ(burn.windows.size(), 4u);
  EXPECT_EQ(burn.windows[0].long_window, 1h);
  EXPECT_EQ(burn.windows[0].short_window, 5min);
  EXPECT_DOUBLE_EQ(burn.windows[0].burn_rate, 14.4);
  EXPECT_EQ(burn.windows[0].severity, "critical");
  EXPECT_EQ(burn.windows[3].long_window, 72h);
  EXPECT_EQ(burn.windows[3].severity, "warning");
}

TEST(SloSpecTest, EveryObjective) {
  const SloSpec slo = ParseOk(R"(slo:
  availability: 99.9%
  latency: {p95: 300ms}
  error_rate: 1%
)")
                          .slo;
  ASSERT_TRUE(slo.availability && slo.latency && slo.error_rate);
  EXPECT_EQ(slo.availability->target, 0.999);  // exactly what was written, not 99.9 * 0.01
  EXPECT_DOUBLE_EQ(slo.availability->minute_error_rate, 0.05);
  EXPECT_EQ(slo.latency->percentile, 95);
  EXPECT_DOUBLE_EQ(slo.latency->target, 0.95);
  EXPECT_EQ(slo.latency->threshold, 300ms);
  EXPECT_DOUBLE_EQ(*slo.error_rate, 0.01);
}

TEST(SloSpecTest, EachObjectiveIsOptionalAndAvailabilityHasALongForm) {
  const SloSpec slo = ParseOk(R"(slo:
  availability: {target: 0.995, minute_error_rate: 20%}
)")
                          .slo;
  ASSERT_TRUE(slo.availability.has_value());
  EXPECT_DOUBLE_EQ(slo.availability->target, 0.995);
  EXPECT_DOUBLE_EQ(slo.availability->minute_error_rate, 0.2);
  EXPECT_FALSE(slo.latency.has_value());
  EXPECT_FALSE(slo.error_rate.has_value());
  const SloSpec latency = ParseOk("slo:\n  latency: {p99: 1s}\n").slo;
  ASSERT_TRUE(latency.latency.has_value());
  EXPECT_DOUBLE_EQ(latency.latency->target, 0.99);
  EXPECT_EQ(latency.latency->threshold, 1s);
}

TEST(SloSpecTest, BadObjectivesAreReportedAtTheirValue) {
  EXPECT_EQ(Problems("slo:\n  availability: 120%\n"),
            std::vector<std::string>{"app.yaml:4:17: slo.availability: expected a share between "
                                     "0% and 100% (99.9%), got \"120%\""});
  EXPECT_EQ(Problems("slo:\n  error_rate: 0%\n"),
            std::vector<std::string>{"app.yaml:4:15: slo.error_rate: 0% is no objective; give a "
                                     "share strictly between 0% and 100% (1%)"});
  EXPECT_EQ(Problems("slo:\n  latency: {p95: 300ms, p99: 1s}\n"),
            std::vector<std::string>{
                "app.yaml:4:25: slo.latency: one percentile per objective; p99 comes after p95"});
  EXPECT_EQ(Problems("slo:\n  latency: 300ms\n"),
            std::vector<std::string>{"app.yaml:4:12: slo.latency: expected a percentile and its "
                                     "threshold such as {p95: 300ms}, got \"300ms\""});
  EXPECT_EQ(Problems("slo:\n  availability: {minute_error_rate: 5%}\n"),
            std::vector<std::string>{
                "app.yaml:4:17: slo.availability: missing required field \"target\""});
}

TEST(SloSpecTest, BurnRateWindowsCanBeShortenedOrTheRuleTurnedOff) {
  const BuiltinBurnRateAlert burn = ParseOk(R"(alerts:
  builtin:
    error_budget_burn:
      for: 5s
      windows:
        - {long: 1m, short: 10s, burn_rate: 14.4, severity: critical}
        - {long: 2m, short: 20s, burn_rate: 2}
)")
                                        .alerts.builtin.error_budget_burn;
  EXPECT_TRUE(burn.enabled);
  EXPECT_EQ(burn.for_duration, 5s);
  ASSERT_EQ(burn.windows.size(), 2u);
  EXPECT_EQ(burn.windows[0].long_window, 60s);
  EXPECT_EQ(burn.windows[0].short_window, 10s);
  EXPECT_EQ(burn.windows[1].severity, "critical");  // the default
  EXPECT_DOUBLE_EQ(burn.windows[1].burn_rate, 2);
  EXPECT_FALSE(ParseOk("alerts:\n  builtin:\n    error_budget_burn: false\n")
                   .alerts.builtin.error_budget_burn.enabled);
  EXPECT_EQ(Problems("alerts:\n  builtin:\n    error_budget_burn:\n      windows:\n        - "
                     "{long: 1m, short: 2m, burn_rate: 6}\n"),
            std::vector<std::string>{"app.yaml:7:29: "
                                     "alerts.builtin.error_budget_burn.windows[0].short: 2m must "
                                     "be shorter than long (1m)"});
  EXPECT_EQ(Problems("alerts:\n  builtin:\n    error_budget_burn:\n      windows:\n        - "
                     "{long: 31d, short: 1h, burn_rate: 6}\n"),
            std::vector<std::string>{"app.yaml:7:18: "
                                     "alerts.builtin.error_budget_burn.windows[0].long: 31d is "
                                     "out of range (1s..720h)"});
}

}  // namespace
}  // namespace slipway::spec
