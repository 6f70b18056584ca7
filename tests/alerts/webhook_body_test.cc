// The Alertmanager v4 webhook body, byte for byte.
#include "alerts/webhook_body.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace slipway::alerts {
namespace {

using namespace std::chrono_literals;

const WallTime kT0 = FromMillis(1'700'000'000'000);

Alert MakeAlert(const std::string& release, AlertState state) {
  Alert a;
  a.app = "hello";
  a.rule = "DeployFailed";
  a.labels = {{"alertname", "DeployFailed"},
              {"app", "hello"},
              {"release", release},
              {"severity", "warning"}};
  a.annotations = {{"summary", "hello: release " + release + " failed to deploy"},
                   {"runbook_url", "https://runbooks.example.com/deploy"}};
  a.fingerprint = Fingerprint(a.labels);
  a.state = state;
  a.active_since = kT0;
  a.fired_at = kT0 + 250ms;
  if (state == AlertState::kResolved) a.resolved_at = kT0 + 5min;
  return a;
}

Notification MakeNotification(std::vector<Alert> alerts) {
  Notification n;
  n.group_key = "{}:{alertname=\"DeployFailed\", app=\"hello\"}";
  n.app = "hello";
  n.group_labels = {{"alertname", "DeployFailed"}, {"app", "hello"}};
  n.alerts = std::move(alerts);
  n.at = kT0 + 5min;
  return n;
}

TEST(WebhookBodyTest, FiringBodyIsAlertmanagersVersion4) {
  Notification n = MakeNotification({MakeAlert("4", AlertState::kFiring)});
  const std::string fp = n.alerts[0].fingerprint;
  EXPECT_EQ(WebhookBody(n, "ops", "http://slipway.example.com/"),
            R"({"receiver":"ops","status":"firing","alerts":[{"status":"firing","labels":)"
            R"({"alertname":"DeployFailed","app":"hello","release":"4","severity":"warning"},)"
            R"("annotations":{"runbook_url":"https://runbooks.example.com/deploy",)"
            R"("summary":"hello: release 4 failed to deploy"},)"
            R"("startsAt":"2023-11-14T22:13:20.250Z","endsAt":"0001-01-01T00:00:00Z",)"
            R"("generatorURL":"http://slipway.example.com/v1/alerts?app=hello","fingerprint":")" +
                fp +
                R"("}],"groupLabels":{"alertname":"DeployFailed","app":"hello"},)"
                R"("commonLabels":{"alertname":"DeployFailed","app":"hello","release":"4",)"
                R"("severity":"warning"},"commonAnnotations":{"runbook_url":)"
                R"("https://runbooks.example.com/deploy","summary":"hello: release 4 failed to )"
                R"(deploy"},"externalURL":"http://slipway.example.com/","version":"4",)"
                R"("groupKey":"{}:{alertname=\"DeployFailed\", app=\"hello\"}",)"
                R"("truncatedAlerts":0})");
}

TEST(WebhookBodyTest, ResolvedAndMixedGroups) {
  Notification resolved = MakeNotification({MakeAlert("4", AlertState::kResolved)});
  auto body = nlohmann::json::parse(WebhookBody(resolved, "ops", ""));
  EXPECT_EQ(body["status"], "resolved");
  EXPECT_EQ(body["alerts"][0]["status"], "resolved");
  EXPECT_EQ(body["alerts"][0]["endsAt"], "2023-11-14T22:18:20.000Z");
  EXPECT_EQ(body["alerts"][0]["generatorURL"], "") << "no external_url: no link";
  EXPECT_EQ(body["externalURL"], "");

  Notification mixed = MakeNotification(
      {MakeAlert("5", AlertState::kFiring), MakeAlert("4", AlertState::kResolved)});
  body = nlohmann::json::parse(WebhookBody(mixed, "ops", ""));
  EXPECT_EQ(body["status"], "firing") << "a group with any alert firing is firing";
  ASSERT_EQ(body["alerts"].size(), 2u);
  // Only what both alerts share is common.
  EXPECT_EQ(
      body["commonLabels"],
      nlohmann::json({{"alertname", "DeployFailed"}, {"app", "hello"}, {"severity", "warning"}}));
  EXPECT_EQ(body["commonAnnotations"],
            nlohmann::json({{"runbook_url", "https://runbooks.example.com/deploy"}}));
}

}  // namespace
}  // namespace slipway::alerts
