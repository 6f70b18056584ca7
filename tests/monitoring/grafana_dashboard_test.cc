#include "monitoring/grafana_dashboard.h"

#include <set>

#include <gtest/gtest.h>

namespace slipway::monitoring {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const json* PanelTitled(const json& dashboard, const std::string& title) {
  for (const json& p : dashboard["panels"]) {
    if (p["title"] == title) return &p;
  }
  return nullptr;
}

// The red threshold step of a panel, if it draws one.
std::optional<double> ThresholdLine(const json& panel) {
  const json& defaults = panel["fieldConfig"]["defaults"];
  if (defaults["custom"]["thresholdsStyle"]["mode"] != "line") return std::nullopt;
  const json& steps = defaults["thresholds"]["steps"];
  return steps.back()["value"].get<double>();
}

// Unique ids, panels inside 24 columns and not overlapping, datasource and queries on each;
// returns the number of rows.
int CheckLayout(const json& d) {
  std::set<int> ids;
  std::set<std::pair<int, int>> cells;  // (x, y) of every grid cell taken
  int rows = 0;
  for (const json& p : d["panels"]) {
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << p["id"];
    const json& g = p["gridPos"];
    EXPECT_LE(g["x"].get<int>() + g["w"].get<int>(), 24) << p["title"];
    for (int x = g["x"]; x < g["x"].get<int>() + g["w"].get<int>(); ++x) {
      for (int y = g["y"]; y < g["y"].get<int>() + g["h"].get<int>(); ++y) {
        EXPECT_TRUE(cells.insert({x, y}).second) << p["title"] << " overlaps at " << x << "," << y;
      }
    }
    if (p["type"] == "row") {
      ++rows;
      continue;
    }
    EXPECT_EQ(p["datasource"], (json{{"type", "prometheus"}, {"uid", "${datasource}"}}));
    EXPECT_FALSE(p["targets"].empty()) << p["title"];
    for (const json& t : p["targets"]) {
      EXPECT_NE(t["expr"].get<std::string>().find("app=\"$app\""), std::string::npos) << t["expr"];
      EXPECT_EQ(t["datasource"], p["datasource"]);
    }
  }
  return rows;
}

TEST(GrafanaDashboard, PanelsHaveUniqueIdsNonOverlappingPlacesAndQueries) {
  const json d = GrafanaDashboard("shop", spec::AlertsConfig{});
  EXPECT_EQ(CheckLayout(d), 4);  // traffic, releases, replicas, deploys: no SLOs, no SLO row
  EXPECT_EQ(PanelTitled(d, "Burn rate"), nullptr);
  EXPECT_EQ(d["uid"], "slipway-shop");
  EXPECT_EQ(d["title"], "Slipway: shop");
  EXPECT_GE(d["schemaVersion"].get<int>(), 36);
  EXPECT_GE(d["panels"].size(), 16u);

  const json& vars = d["templating"]["list"];
  ASSERT_EQ(vars.size(), 2u);
  EXPECT_EQ(vars[0]["name"], "datasource");
  EXPECT_EQ(vars[0]["type"], "datasource");
  EXPECT_EQ(vars[0]["query"], "prometheus");
  EXPECT_EQ(vars[1]["name"], "app");
  EXPECT_EQ(vars[1]["type"], "constant");
  EXPECT_EQ(vars[1]["query"], "shop");
}

TEST(GrafanaDashboard, DrawsTheThresholdsOfTheBuiltinRulesThatAreOn) {
  spec::AlertsConfig config;
  config.builtin.error_rate.threshold = 0.02;
  config.builtin.crash_looping.restarts = 5;
  config.builtin.crash_looping.window = 1800s;
  config.builtin.latency_p95.enabled = false;
  const json d = GrafanaDashboard("shop", config);

  const json* errors = PanelTitled(d, "Error rate (5xx share)");
  ASSERT_NE(errors, nullptr);
  EXPECT_EQ(ThresholdLine(*errors), 0.02);
  EXPECT_EQ((*errors)["fieldConfig"]["defaults"]["unit"], "percentunit");
  EXPECT_NE((*errors)["description"].get<std::string>().find(
                "HighErrorRate: error_rate(5m) > 2.0% for 5m"),
            std::string::npos);

  const json* latency = PanelTitled(d, "Latency");
  ASSERT_NE(latency, nullptr);
  EXPECT_EQ(ThresholdLine(*latency), std::nullopt);  // HighLatency is off
  ASSERT_EQ((*latency)["targets"].size(), 3u);
  EXPECT_EQ((*latency)["targets"][1]["expr"],
            "histogram_quantile(0.95, sum by (le) (rate(slipway_http_request_duration_seconds_"
            "bucket{app=\"$app\",release!=\"none\"}[$__rate_interval])))");

  // The restarts panel counts over the rule's own window.
  const json* restarts = PanelTitled(d, "Replica restarts over 30m");
  ASSERT_NE(restarts, nullptr);
  EXPECT_EQ(ThresholdLine(*restarts), 5);
  EXPECT_EQ((*restarts)["targets"][0]["expr"],
            "sum(increase(slipway_replica_restarts_total{app=\"$app\"}[30m]))");
}

TEST(GrafanaDashboard, SloPanelsPerObjectiveBudgetAndBurnRate) {
  spec::AlertsConfig config;
  spec::SloSpec slo;
  slo.availability = spec::AvailabilityObjective{};
  slo.error_rate = 0.01;
  const json d = GrafanaDashboard("shop", config, slo);
  EXPECT_EQ(CheckLayout(d), 5);
  const json* row = PanelTitled(d, "SLOs");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ((*row)["type"], "row");

  const json* availability = PanelTitled(d, "SLI: availability");
  const json* errors = PanelTitled(d, "SLI: error_rate");
  ASSERT_NE(availability, nullptr);
  ASSERT_NE(errors, nullptr);
  EXPECT_EQ(PanelTitled(d, "SLI: latency"), nullptr);
  EXPECT_EQ((*errors)["targets"][0]["expr"],
            "slipway_slo_sli_ratio{app=\"$app\",slo=\"error_rate\"}");
  EXPECT_EQ((*errors)["targets"][0]["legendFormat"], "{{window}}");
  EXPECT_EQ((*errors)["targets"][1]["expr"],
            "slipway_slo_objective_ratio{app=\"$app\",slo=\"error_rate\"}");
  EXPECT_EQ((*errors)["fieldConfig"]["defaults"]["unit"], "percentunit");
  // Side by side, below the row.
  EXPECT_EQ((*availability)["gridPos"]["y"], (*row)["gridPos"]["y"].get<int>() + 1);
  EXPECT_EQ((*errors)["gridPos"]["y"], (*availability)["gridPos"]["y"]);
  EXPECT_EQ((*availability)["gridPos"]["w"].get<int>() + (*errors)["gridPos"]["w"].get<int>(), 24);

  const json* budget = PanelTitled(d, "Error budget remaining");
  ASSERT_NE(budget, nullptr);
  EXPECT_EQ((*budget)["targets"][0]["expr"],
            "slipway_slo_error_budget_remaining_ratio{app=\"$app\"}");
  // The burn rate draws the factor of the default pair over 1h.
  const json* burn = PanelTitled(d, "Burn rate");
  ASSERT_NE(burn, nullptr);
  EXPECT_EQ((*burn)["targets"][0]["expr"], "slipway_slo_burn_rate{app=\"$app\"}");
  EXPECT_EQ(ThresholdLine(*burn), 14.4);
  EXPECT_NE((*burn)["description"].get<std::string>().find(
                "ErrorBudgetBurn (critical): burn_rate(1h) > 14.4 and burn_rate(5m) > 14.4"),
            std::string::npos)
      << (*burn)["description"];

  // Without a pair over 1h (or with the rule off), no line.
  config.builtin.error_budget_burn.windows = {{60s, 10s, 2, "page"}};
  EXPECT_EQ(ThresholdLine(*PanelTitled(GrafanaDashboard("shop", config, slo), "Burn rate")),
            std::nullopt);
  config = {};
  config.builtin.error_budget_burn.enabled = false;
  EXPECT_EQ(ThresholdLine(*PanelTitled(GrafanaDashboard("shop", config, slo), "Burn rate")),
            std::nullopt);
}

}  // namespace
}  // namespace slipway::monitoring
