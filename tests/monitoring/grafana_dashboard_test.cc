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

TEST(GrafanaDashboard, PanelsHaveUniqueIdsNonOverlappingPlacesAndQueries) {
  const json d = GrafanaDashboard("shop", spec::AlertsConfig{});
  EXPECT_EQ(d["uid"], "slipway-shop");
  EXPECT_EQ(d["title"], "Slipway: shop");
  EXPECT_GE(d["schemaVersion"].get<int>(), 36);
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
    ASSERT_FALSE(p["targets"].empty()) << p["title"];
    for (const json& t : p["targets"]) {
      EXPECT_NE(t["expr"].get<std::string>().find("app=\"$app\""), std::string::npos) << t["expr"];
      EXPECT_EQ(t["datasource"], p["datasource"]);
    }
  }
  EXPECT_EQ(rows, 4);  // traffic, releases, replicas, deploys
  EXPECT_GE(ids.size(), 16u);

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

}  // namespace
}  // namespace slipway::monitoring
