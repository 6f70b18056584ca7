// The alert state machine, on injected time: pending for `for`, firing, resolved; unknown
// conditions change nothing; instances a rule no longer sees resolve; resolved ones expire.
#include "alerts/alert_tracker.h"

#include <gtest/gtest.h>

namespace slipway::alerts {
namespace {

using namespace std::chrono_literals;

const WallTime kT0 = FromMillis(1'700'000'000'000);

AlertSample Sample(Truth truth, std::optional<double> value = std::nullopt,
                   const std::string& release = "") {
  AlertSample s;
  s.labels = {{"alertname", "HighErrorRate"}, {"app", "hello"}, {"severity", "critical"}};
  if (!release.empty()) s.labels["release"] = release;
  s.annotations = {{"summary", "too many errors"}};
  s.truth = truth;
  s.value = value;
  s.metric = AlertMetric::kErrorRate;
  return s;
}

class AlertTrackerTest : public ::testing::Test {
 protected:
  std::vector<AlertTracker::Change> Eval(Truth truth, WallTime at,
                                         std::chrono::milliseconds for_ = 2s) {
    return tracker.Apply("hello", "HighErrorRate", for_, {Sample(truth, 0.2)}, at);
  }
  const Alert* Only() {
    auto alerts = tracker.Alerts("hello");
    return alerts.size() == 1 ? alerts[0] : nullptr;
  }
  AlertTracker tracker;
};

TEST_F(AlertTrackerTest, PendingThenFiringAfterForThenResolved) {
  auto changes = Eval(Truth::kTrue, kT0);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].alert.state, AlertState::kPending);
  ASSERT_NE(Only(), nullptr);
  EXPECT_EQ(Only()->active_since, kT0);
  EXPECT_EQ(Only()->fingerprint, Fingerprint(Sample(Truth::kTrue).labels));

  EXPECT_TRUE(Eval(Truth::kTrue, kT0 + 1s).empty()) << "still pending: no change to store";
  EXPECT_EQ(Only()->state, AlertState::kPending);

  changes = Eval(Truth::kTrue, kT0 + 2s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(Only()->state, AlertState::kFiring);
  EXPECT_EQ(Only()->fired_at, kT0 + 2s);
  EXPECT_EQ(Only()->since(), kT0 + 2s);
  EXPECT_TRUE(Eval(Truth::kTrue, kT0 + 3s).empty());

  changes = Eval(Truth::kFalse, kT0 + 10s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(Only()->state, AlertState::kResolved);
  EXPECT_EQ(Only()->resolved_at, kT0 + 10s);
  EXPECT_EQ(Only()->fired_at, kT0 + 2s);
  EXPECT_TRUE(Eval(Truth::kFalse, kT0 + 11s).empty());
}

TEST_F(AlertTrackerTest, ForZeroFiresAtOnce) {
  auto changes = Eval(Truth::kTrue, kT0, 0s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(Only()->state, AlertState::kFiring);
  EXPECT_EQ(Only()->fired_at, kT0);
}

TEST_F(AlertTrackerTest, PendingThatTurnsFalseIsForgottenWithoutFiring) {
  Eval(Truth::kTrue, kT0);
  auto changes = Eval(Truth::kFalse, kT0 + 1s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].removed);
  EXPECT_EQ(Only(), nullptr);
  // The next time it holds, `for` counts from then.
  Eval(Truth::kTrue, kT0 + 5s);
  Eval(Truth::kTrue, kT0 + 6s);
  EXPECT_EQ(Only()->state, AlertState::kPending);
  Eval(Truth::kTrue, kT0 + 7s);
  EXPECT_EQ(Only()->state, AlertState::kFiring);
}

TEST_F(AlertTrackerTest, UnknownNeitherFiresNorResolves) {
  Eval(Truth::kTrue, kT0);
  EXPECT_TRUE(Eval(Truth::kUnknown, kT0 + 5s).empty());
  EXPECT_EQ(Only()->state, AlertState::kPending) << "unknown does not complete `for`";
  Eval(Truth::kTrue, kT0 + 6s);
  ASSERT_EQ(Only()->state, AlertState::kFiring);
  EXPECT_TRUE(Eval(Truth::kUnknown, kT0 + 60s).empty());
  EXPECT_EQ(Only()->state, AlertState::kFiring) << "no data after a restart is not a recovery";
  EXPECT_TRUE(tracker.Apply("hello", "Other", 0s, {}, kT0).empty());
  EXPECT_TRUE(Eval(Truth::kUnknown, kT0 + 61s).empty());
}

TEST_F(AlertTrackerTest, AResolvedAlertThatHoldsAgainStartsAnewFromPending) {
  Eval(Truth::kTrue, kT0, 0s);
  Eval(Truth::kFalse, kT0 + 1s, 0s);
  ASSERT_EQ(Only()->state, AlertState::kResolved);
  auto changes = Eval(Truth::kTrue, kT0 + 2s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(Only()->state, AlertState::kPending);
  EXPECT_EQ(Only()->active_since, kT0 + 2s);
  EXPECT_FALSE(Only()->fired_at.has_value());
  EXPECT_FALSE(Only()->resolved_at.has_value());
}

TEST_F(AlertTrackerTest, InstancesARuleNoLongerSeesAreFalse) {
  // Event rules: one sample per recent event; an event out of the window is no sample at all.
  auto both =
      std::vector<AlertSample>{Sample(Truth::kTrue, {}, "4"), Sample(Truth::kTrue, {}, "5")};
  EXPECT_EQ(tracker.Apply("hello", "HighErrorRate", 0s, both, kT0).size(), 2u);
  auto changes =
      tracker.Apply("hello", "HighErrorRate", 0s, {Sample(Truth::kTrue, {}, "5")}, kT0 + 1s);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].alert.labels.at("release"), "4");
  EXPECT_EQ(changes[0].alert.state, AlertState::kResolved);
  // Other apps and rules are left alone.
  tracker.Apply("web", "HighErrorRate", 0s, {Sample(Truth::kTrue)}, kT0);
  EXPECT_TRUE(tracker.Apply("hello", "Other", 0s, {}, kT0 + 2s).empty());
  EXPECT_EQ(tracker.Alerts("web").size(), 1u);
  EXPECT_EQ(tracker.Alerts().size(), 3u);
  EXPECT_EQ(tracker.RulesWithAlerts("hello"), std::set<std::string>{"HighErrorRate"});
}

TEST_F(AlertTrackerTest, ResolvedAlertsExpireUnlessTheirResolutionIsUnsent) {
  Eval(Truth::kTrue, kT0, 0s);
  Eval(Truth::kFalse, kT0 + 1s, 0s);
  EXPECT_TRUE(tracker.Expire(kT0 + 10min, 15min, nullptr).empty());
  bool unsent = true;
  auto keep = [&](const Alert&) { return unsent; };
  EXPECT_TRUE(tracker.Expire(kT0 + 1s + 15min, 15min, keep).empty());
  unsent = false;
  auto changes = tracker.Expire(kT0 + 1s + 15min, 15min, keep);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].removed);
  EXPECT_EQ(Only(), nullptr);
}

TEST_F(AlertTrackerTest, RestoredAlertsContinue) {
  Alert stored;
  stored.app = "hello";
  stored.rule = "HighErrorRate";
  stored.labels = Sample(Truth::kTrue).labels;
  stored.fingerprint = Fingerprint(stored.labels);
  stored.state = AlertState::kFiring;
  stored.active_since = kT0;
  stored.fired_at = kT0 + 2s;
  tracker.Restore(stored);
  EXPECT_TRUE(Eval(Truth::kTrue, kT0 + 1h).empty()) << "still firing: nothing new";
  EXPECT_EQ(Only()->fired_at, kT0 + 2s);
}

TEST(FingerprintTest, MatchesAlertmanagersForTheSameLabels) {
  // Alertmanager (prometheus/common model.LabelSet.Fingerprint) of {alertname="HighErrorRate",
  // app="hello"}; and an empty label set is FNV-1a's offset basis.
  EXPECT_EQ(Fingerprint({}), "cbf29ce484222325");
  const std::string a = Fingerprint({{"alertname", "HighErrorRate"}, {"app", "hello"}});
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a, Fingerprint({{"app", "hello"}, {"alertname", "HighErrorRate"}}));
  EXPECT_NE(a, Fingerprint({{"alertname", "HighErrorRate"}, {"app", "hellp"}}));
  // Name/value boundaries count: {a="bc"} is not {ab="c"}.
  EXPECT_NE(Fingerprint({{"a", "bc"}}), Fingerprint({{"ab", "c"}}));
}

TEST(WallTimeTest, FormatsAndParsesRfc3339Milliseconds) {
  EXPECT_EQ(FormatTime(kT0 + 123ms), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(ParseTime("2023-11-14T22:13:20.123Z"), kT0 + 123ms);
  EXPECT_FALSE(ParseTime("2023-11-14T22:13:20Z").has_value());
  EXPECT_FALSE(ParseTime("yesterday").has_value());
}

}  // namespace
}  // namespace slipway::alerts
