#include "report/report_json.h"

#include <gtest/gtest.h>

#include "report/timestamp.h"

namespace slipway::report {
namespace {

constexpr std::int64_t kBase = 1793491200000;  // 2026-11-01T00:00:00.000Z

TEST(ReportToJson, HasEveryKpiWithValueTargetAndStatus) {
  DeliveryReport r;
  r.window = {kBase - 30LL * 86'400'000, kBase};
  r.apps = {"hello"};
  r.deploys = 4;
  r.succeeded = 3;
  r.failed = 1;
  r.rollbacks = 1;
  r.rollbacks_succeeded = 1;
  r.in_progress.push_back({"hello", 5, "2026-10-31T23:59:00.000Z", std::nullopt});
  r.per_day = 0.1;
  r.per_week = 0.7;
  r.lead_time_samples = 2;
  r.lead_time_p50_ms = 1000;
  r.lead_time_p90_ms = 2000;
  r.success_rate = 0.75;
  r.success_mark = Mark::kFail;
  r.changes = 2;
  r.failed_changes = 1;
  r.change_failure_rate = 0.5;
  r.incidents.push_back({"hello", 2, "rolled_back", kBase - 5000, kBase - 1000, 4});
  r.restored_incidents = 1;
  r.mttr_ms = 4000;
  r.mttr_mark = Mark::kPass;
  r.rollback_max_ms = 3000;
  r.rollback_mean_ms = 3000;
  r.rollback_mark = Mark::kPass;
  r.overall = Mark::kFail;

  const auto j = ReportToJson(r, std::string("hello"), "30d");
  EXPECT_EQ(j["app"], "hello");
  EXPECT_EQ(j["apps"], nlohmann::json::array({"hello"}));
  EXPECT_EQ(j["window"]["since"], "2026-10-02T00:00:00.000Z");
  EXPECT_EQ(j["window"]["until"], "2026-11-01T00:00:00.000Z");
  EXPECT_EQ(j["window"]["length"], "30d");
  EXPECT_EQ(j["window"]["days"], 30.0);
  EXPECT_EQ(j["releases"]["deploys"], 4);
  EXPECT_EQ(j["releases"]["in_progress"][0]["number"], 5);
  EXPECT_TRUE(j["releases"]["in_progress"][0]["rollback_of"].is_null());
  EXPECT_EQ(j["status"], "fail");

  const auto& k = j["kpis"];
  EXPECT_EQ(k.size(), 6u);
  for (const auto& [name, kpi] : k.items()) {
    EXPECT_TRUE(kpi.contains("value")) << name;
    EXPECT_TRUE(kpi.contains("unit")) << name;
    EXPECT_TRUE(kpi.contains("target")) << name;
    EXPECT_TRUE(kpi.contains("status")) << name;
  }
  EXPECT_EQ(k["deployment_frequency"]["value"], 0.1);
  EXPECT_EQ(k["deployment_frequency"]["per_week"], 0.7);
  EXPECT_EQ(k["deployment_frequency"]["status"], "n/a");
  EXPECT_EQ(k["lead_time"]["p90_ms"], 2000);
  EXPECT_EQ(k["deploy_success_rate"]["value"], 0.75);
  EXPECT_EQ(k["deploy_success_rate"]["target"], (nlohmann::json{{"op", ">"}, {"value", 0.95}}));
  EXPECT_EQ(k["deploy_success_rate"]["status"], "fail");
  EXPECT_EQ(k["change_failure_rate"]["value"], 0.5);
  EXPECT_TRUE(k["change_failure_rate"]["target"].is_null());
  EXPECT_EQ(k["mean_time_to_restore"]["value"], 4000);
  EXPECT_EQ(k["mean_time_to_restore"]["target"]["value"], 1'800'000.0);
  EXPECT_EQ(k["mean_time_to_restore"]["open"], 0);
  EXPECT_EQ(k["rollback_duration"]["target"], (nlohmann::json{{"op", "<"}, {"value", 900'000.0}}));
  EXPECT_EQ(k["rollback_duration"]["rollbacks"], 1);

  ASSERT_EQ(j["incidents"].size(), 1u);
  EXPECT_EQ(j["incidents"][0]["started_at"], FormatTimestampMs(kBase - 5000));
  EXPECT_EQ(j["incidents"][0]["restored_by"], 4);
  EXPECT_EQ(j["incidents"][0]["duration_ms"], 4000);
}

TEST(ReportToJson, MissingValuesAreNullNotZero) {
  DeliveryReport r;
  r.window = {0, 86'400'000};
  r.incidents.push_back({"hello", 2, "rolled_back", 1000, std::nullopt, std::nullopt});
  const auto j = ReportToJson(r, std::nullopt, "1d");
  EXPECT_TRUE(j["app"].is_null());
  EXPECT_TRUE(j["kpis"]["lead_time"]["value"].is_null());
  EXPECT_TRUE(j["kpis"]["deploy_success_rate"]["value"].is_null());
  EXPECT_EQ(j["kpis"]["deploy_success_rate"]["status"], "n/a");
  EXPECT_TRUE(j["kpis"]["change_failure_rate"]["value"].is_null());
  EXPECT_TRUE(j["kpis"]["mean_time_to_restore"]["value"].is_null());
  EXPECT_EQ(j["kpis"]["mean_time_to_restore"]["open"], 1);
  EXPECT_TRUE(j["kpis"]["rollback_duration"]["value"].is_null());
  EXPECT_TRUE(j["incidents"][0]["restored_at"].is_null());
  EXPECT_TRUE(j["incidents"][0]["duration_ms"].is_null());
}

}  // namespace
}  // namespace slipway::report
