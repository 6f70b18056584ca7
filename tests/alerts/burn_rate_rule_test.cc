// The built-in ErrorBudgetBurn rule: on only with an SLO, one alert per objective and severity,
// long AND short window above the factor, pairs of one severity OR'ed, unknown without data,
// and the annotations naming the windows and burn rates.
#include <gtest/gtest.h>

#include <map>
#include <utility>

#include "alerts/alert_rules.h"
#include "alerts/builtin_names.h"

namespace slipway::alerts {
namespace {

using namespace std::chrono_literals;

// Burn rates by (objective, window); a missing one has no data.
class FakeFacts : public AppAlertFacts {
 public:
  std::optional<double> Value(AlertMetric, std::chrono::seconds) override { return std::nullopt; }
  std::vector<ReleaseIncident> IncidentsSince(WallTime) override { return {}; }
  std::optional<std::int64_t> serving_release() const override { return 1; }
  std::optional<double> BurnRate(const slo::Objective& objective,
                                 std::chrono::seconds window) override {
    auto it = burn.find({objective.kind, window.count()});
    if (it == burn.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::pair<slo::SloKind, std::int64_t>, double> burn;
};

spec::SloSpec ErrorRateSlo() {
  spec::SloSpec slo;
  slo.error_rate = 0.01;
  return slo;
}

std::optional<AlertRule> Find(const std::vector<AlertRule>& rules, std::string_view name) {
  for (const AlertRule& r : rules) {
    if (r.name == name) return r;
  }
  return std::nullopt;
}

TEST(BurnRateRule, OnlyAnAppWithAnSloHasIt) {
  spec::AlertsConfig config;
  EXPECT_FALSE(Find(BuildAlertRules(config), kErrorBudgetBurn).has_value());
  EXPECT_TRUE(Find(BuildAlertRules(config, ErrorRateSlo()), kErrorBudgetBurn).has_value());
  config.builtin.error_budget_burn.enabled = false;
  EXPECT_FALSE(Find(BuildAlertRules(config, ErrorRateSlo()), kErrorBudgetBurn).has_value());
}

TEST(BurnRateRule, PagesWhenBothWindowsOfAPairBurnTooFast) {
  spec::AlertsConfig config;  // the default pairs: 1h/5m 14.4, 6h/30m 6 critical; 1d/2h 3, 3d/6h 1
  const AlertRule rule = *Find(BuildAlertRules(config, ErrorRateSlo()), kErrorBudgetBurn);
  EXPECT_EQ(rule.Describe(),
            "burn_rate(1h) > 14.4 and burn_rate(5m) > 14.4 (critical) or burn_rate(6h) > 6 and "
            "burn_rate(30m) > 6 (critical) or burn_rate(24h) > 3 and burn_rate(2h) > 3 (warning) "
            "or burn_rate(72h) > 1 and burn_rate(6h) > 1 (warning)");
  FakeFacts facts;
  const auto k = slo::SloKind::kErrorRate;
  for (std::int64_t w : {300, 1800, 3600, 7200, 21600, 86400, 259200}) facts.burn[{k, w}] = 0.5;
  facts.burn[{k, 3600}] = 20;  // 1h is hot, 5m is not: no page
  std::vector<AlertSample> samples = rule.Evaluate("hello", facts, WallTime{});
  ASSERT_EQ(samples.size(), 2u);  // critical and warning
  EXPECT_EQ(samples[0].labels.at("severity"), "critical");
  EXPECT_EQ(samples[0].labels.at("slo"), "error_rate");
  EXPECT_EQ(samples[0].labels.at("alertname"), "ErrorBudgetBurn");
  EXPECT_EQ(samples[0].truth, Truth::kFalse);
  EXPECT_EQ(samples[1].labels.at("severity"), "warning");
  EXPECT_EQ(samples[1].truth, Truth::kFalse);

  facts.burn[{k, 300}] = 30;  // now 5m too
  samples = rule.Evaluate("hello", facts, WallTime{});
  EXPECT_EQ(samples[0].truth, Truth::kTrue);
  ASSERT_TRUE(samples[0].value.has_value());
  EXPECT_DOUBLE_EQ(*samples[0].value, 20);
  EXPECT_EQ(samples[0].annotations.at("description"),
            "burn rate 20x over 1h and 30x over 5m (alert above 14.4x); objective: 99% of "
            "requests without a 5xx answer");
  EXPECT_EQ(samples[0].annotations.at("summary"),
            "hello: the error_rate error budget burns too fast (alert above 14.4x over 1h and "
            "5m, or 6x over 6h and 30m)");
  EXPECT_EQ(samples[1].truth, Truth::kFalse);
}

TEST(BurnRateRule, NoDataIsUnknownNotFalse) {
  spec::AlertsConfig config;
  config.builtin.error_budget_burn.windows = {{60s, 10s, 14.4, "critical"}};
  const AlertRule rule = *Find(BuildAlertRules(config, ErrorRateSlo()), kErrorBudgetBurn);
  FakeFacts facts;
  std::vector<AlertSample> samples = rule.Evaluate("hello", facts, WallTime{});
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].truth, Truth::kUnknown);
  facts.burn[{slo::SloKind::kErrorRate, 60}] = 50;
  EXPECT_EQ(rule.Evaluate("hello", facts, WallTime{})[0].truth, Truth::kUnknown);
  facts.burn[{slo::SloKind::kErrorRate, 10}] = 1;  // the short window recovered: false
  EXPECT_EQ(rule.Evaluate("hello", facts, WallTime{})[0].truth, Truth::kFalse);
}

TEST(BurnRateRule, OneAlertPerObjective) {
  spec::AlertsConfig config;
  config.builtin.error_budget_burn.windows = {{60s, 10s, 2, "page"}};
  spec::SloSpec slo = ErrorRateSlo();
  slo.availability = spec::AvailabilityObjective{.target = 0.99};
  const AlertRule rule = *Find(BuildAlertRules(config, slo), kErrorBudgetBurn);
  FakeFacts facts;
  facts.burn[{slo::SloKind::kAvailability, 60}] = 3;
  facts.burn[{slo::SloKind::kAvailability, 10}] = 3;
  facts.burn[{slo::SloKind::kErrorRate, 60}] = 3;
  facts.burn[{slo::SloKind::kErrorRate, 10}] = 2;  // not above 2
  std::vector<AlertSample> samples = rule.Evaluate("hello", facts, WallTime{});
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].labels.at("slo"), "availability");
  EXPECT_EQ(samples[0].labels.at("severity"), "page");
  EXPECT_EQ(samples[0].truth, Truth::kTrue);
  EXPECT_EQ(samples[1].labels.at("slo"), "error_rate");
  EXPECT_EQ(samples[1].truth, Truth::kFalse);
}

}  // namespace
}  // namespace slipway::alerts
