// Grouping and deduplication: group_wait before a group's first notification, one notification
// per change (not per evaluation) no sooner than group_interval, repeats after repeat_interval,
// flapping, and a group's state round trip through JSON.
#include "alerts/alert_groups.h"

#include <gtest/gtest.h>

namespace slipway::alerts {
namespace {

using namespace std::chrono_literals;

const WallTime kT0 = FromMillis(1'700'000'000'000);
const GroupTiming kTiming{.group_wait = 5s, .group_interval = 1min, .repeat_interval = 1h};

Alert Firing(const std::string& alertname, const std::string& release, WallTime fired) {
  Alert a;
  a.app = "hello";
  a.rule = alertname;
  a.labels = {{"alertname", alertname}, {"app", "hello"}, {"release", release}};
  a.fingerprint = Fingerprint(a.labels);
  a.state = AlertState::kFiring;
  a.active_since = fired - 2s;
  a.fired_at = fired;
  return a;
}

class AlertGroupsTest : public ::testing::Test {
 protected:
  // Plans at `now` and commits every plan, as the monitor does once the store has them.
  std::vector<Notification> At(WallTime now) {
    std::vector<const Alert*> pointers;
    for (const Alert& a : alerts) pointers.push_back(&a);
    std::vector<Notification> sent;
    for (PlannedNotification& plan : groups.Due("hello", pointers, kTiming, now)) {
      groups.Commit(plan.next);
      sent.push_back(std::move(plan.notification));
    }
    return sent;
  }
  void Resolve(std::size_t i, WallTime at) {
    alerts[i].state = AlertState::kResolved;
    alerts[i].resolved_at = at;
  }
  AlertGroups groups;
  std::vector<Alert> alerts;
};

TEST_F(AlertGroupsTest, FirstNotificationWaitsGroupWaitAndGathersTheGroup) {
  alerts.push_back(Firing("DeployFailed", "4", kT0));
  EXPECT_TRUE(At(kT0).empty());
  alerts.push_back(Firing("DeployFailed", "5", kT0 + 2s));
  EXPECT_TRUE(At(kT0 + 4s).empty());
  auto sent = At(kT0 + 5s);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].group_key, "{}:{alertname=\"DeployFailed\", app=\"hello\"}");
  EXPECT_EQ(sent[0].group_labels, (Labels{{"alertname", "DeployFailed"}, {"app", "hello"}}));
  ASSERT_EQ(sent[0].alerts.size(), 2u);
  EXPECT_EQ(sent[0].alerts[0].labels.at("release"), "4") << "oldest first";
  EXPECT_TRUE(sent[0].firing());
}

TEST_F(AlertGroupsTest, OneNotificationPerChangeNotPerEvaluation) {
  alerts.push_back(Firing("HighErrorRate", "1", kT0));
  ASSERT_EQ(At(kT0 + 5s).size(), 1u);
  for (auto t = 6s; t < 2h; t += 1s) {
    if (t == 1h + 5s) continue;
    ASSERT_TRUE(At(kT0 + t).empty()) << "unchanged at +" << t.count() << "s";
    if (t == 1h + 4s) {
      auto repeat = At(kT0 + 1h + 5s);
      ASSERT_EQ(repeat.size(), 1u) << "repeat_interval resends a group still firing";
      EXPECT_TRUE(repeat[0].firing());
    }
  }
}

TEST_F(AlertGroupsTest, ResolutionWaitsGroupIntervalThenTheGroupIsDone) {
  alerts.push_back(Firing("HighErrorRate", "1", kT0));
  ASSERT_EQ(At(kT0 + 5s).size(), 1u);
  Resolve(0, kT0 + 20s);
  EXPECT_TRUE(At(kT0 + 20s).empty()) << "within group_interval of the last notification";
  auto sent = At(kT0 + 65s);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_FALSE(sent[0].firing());
  ASSERT_EQ(sent[0].alerts.size(), 1u);
  EXPECT_EQ(sent[0].alerts[0].state, AlertState::kResolved);
  EXPECT_EQ(sent[0].alerts[0].resolved_at, kT0 + 20s);
  EXPECT_EQ(groups.Find(sent[0].group_key), nullptr) << "nothing fires: the group is gone";
  EXPECT_FALSE(groups.AwaitsResolution(alerts[0]));
  for (auto t = 66s; t < 10min; t += 1s) ASSERT_TRUE(At(kT0 + t).empty());
}

TEST_F(AlertGroupsTest, AFlappingAlertDoesNotFlood) {
  alerts.push_back(Firing("HighErrorRate", "1", kT0));
  ASSERT_EQ(At(kT0 + 5s).size(), 1u);
  // Resolves and fires again every few seconds for ten minutes.
  int notifications = 0;
  for (auto t = 6s; t < 10min; t += 1s) {
    if (t.count() % 4 == 0) {
      Resolve(0, kT0 + t);
    } else if (t.count() % 4 == 2) {
      alerts[0] = Firing("HighErrorRate", "1", kT0 + t);
    }
    notifications += static_cast<int>(At(kT0 + t).size());
  }
  EXPECT_LE(notifications, 10) << "at most one per group_interval";
}

TEST_F(AlertGroupsTest, AResolveAndRefireBetweenNotificationsSendsNothing) {
  alerts.push_back(Firing("HighErrorRate", "1", kT0));
  ASSERT_EQ(At(kT0 + 5s).size(), 1u);
  Resolve(0, kT0 + 10s);
  EXPECT_TRUE(At(kT0 + 10s).empty());
  alerts[0] = Firing("HighErrorRate", "1", kT0 + 30s);
  EXPECT_TRUE(At(kT0 + 70s).empty()) << "by the time it could notify, it fires as sent";
}

TEST_F(AlertGroupsTest, AnAlertThatResolvedBeforeItsFirstNotificationIsNotSent) {
  alerts.push_back(Firing("HighErrorRate", "1", kT0));
  Resolve(0, kT0 + 1s);
  for (auto t = 0s; t < 5min; t += 1s) ASSERT_TRUE(At(kT0 + t).empty());
}

TEST_F(AlertGroupsTest, PendingAlertsAreNeverSent) {
  alerts.push_back(Firing("HighErrorRate", "1", kT0));
  alerts[0].state = AlertState::kPending;
  alerts[0].fired_at.reset();
  for (auto t = 0s; t < 5min; t += 1s) ASSERT_TRUE(At(kT0 + t).empty());
}

TEST_F(AlertGroupsTest, GroupsAreSeparateByAlertname) {
  alerts.push_back(Firing("HighErrorRate", "1", kT0));
  alerts.push_back(Firing("HighLatency", "1", kT0));
  auto sent = At(kT0 + 5s);
  ASSERT_EQ(sent.size(), 2u);
  Resolve(1, kT0 + 6s);
  sent = At(kT0 + 70s);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].group_labels.at("alertname"), "HighLatency");
}

TEST_F(AlertGroupsTest, ANewAlertInAGroupIsAChangeAndOnlyResolvedOnesAreDropped) {
  alerts.push_back(Firing("DeployFailed", "4", kT0));
  ASSERT_EQ(At(kT0 + 5s).size(), 1u);
  alerts.push_back(Firing("DeployFailed", "5", kT0 + 10s));
  Resolve(0, kT0 + 12s);
  auto sent = At(kT0 + 65s);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].alerts.size(), 2u);
  EXPECT_EQ(sent[0].alerts[0].state, AlertState::kFiring) << "firing ones first";
  EXPECT_EQ(sent[0].alerts[1].state, AlertState::kResolved);
  EXPECT_TRUE(sent[0].firing());
  const GroupState* group = groups.Find(sent[0].group_key);
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->sent.size(), 1u);
}

TEST_F(AlertGroupsTest, AnUncommittedPlanComesBack) {
  alerts.push_back(Firing("HighErrorRate", "1", kT0));
  std::vector<const Alert*> pointers{&alerts[0]};
  EXPECT_EQ(groups.Due("hello", pointers, kTiming, kT0 + 5s).size(), 1u);
  EXPECT_EQ(groups.Due("hello", pointers, kTiming, kT0 + 6s).size(), 1u)
      << "the store failed: nothing was sent, so it is still due";
}

TEST_F(AlertGroupsTest, StateRoundTripsThroughJson) {
  alerts.push_back(Firing("HighErrorRate", "1", kT0));
  alerts[0].annotations["summary"] = "x";
  auto plans = groups.Due("hello", {&alerts[0]}, kTiming, kT0 + 5s);
  ASSERT_EQ(plans.size(), 1u);
  const GroupState& state = plans[0].next;
  auto back = GroupState::FromJson(state.key, state.app, state.ToJson(), state.last_notified);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->labels, state.labels);
  ASSERT_EQ(back->sent.size(), 1u);
  const Alert& a = back->sent.begin()->second;
  EXPECT_EQ(a.labels, alerts[0].labels);
  EXPECT_EQ(a.annotations, alerts[0].annotations);
  EXPECT_EQ(a.fired_at, alerts[0].fired_at);
  EXPECT_EQ(a.state, AlertState::kFiring);
  // Restored, a still-firing alert is not sent again.
  AlertGroups restored;
  restored.Restore(*back);
  EXPECT_TRUE(restored.Due("hello", {&alerts[0]}, kTiming, kT0 + 30min).empty());
  Resolve(0, kT0 + 31min);
  EXPECT_EQ(restored.Due("hello", {&alerts[0]}, kTiming, kT0 + 31min).size(), 1u);
}

}  // namespace
}  // namespace slipway::alerts
