// The monitor end to end, without the proxy: a real store and ReleaseWindow, a scripted poster
// and a wall clock the test moves. A 5xx rate fires after `for` and notifies once; a restart
// neither re-notifies nor forgets a resolution; event rules fire once per event.
#include "alerts/alert_monitor.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "alert_test_support.h"

namespace slipway::alerts {
namespace {

using namespace std::chrono_literals;
using testing::RunUntil;
using testing::ScriptedPoster;
using testing::TempStore;

const WallTime kT0 = FromMillis(1'700'000'000'000);

std::string Spec(const std::string& group_interval = "1s") {
  return "app: hello\n"
         "command: ./hello\n"
         "alerts:\n"
         "  receivers:\n"
         "    - name: ops\n"
         "      url: http://127.0.0.1:9/hook\n"
         "  group_wait: 0s\n"
         "  group_interval: " +
         group_interval +
         "\n"
         "  builtin:\n"
         "    error_rate: {for: 2s}\n"
         "    deploy_failed: {resolve_after: 1m}\n";
}

class AlertMonitorTest : public ::testing::Test {
 protected:
  void Deploy(const std::string& spec, state::Outcome outcome = state::Outcome::kSucceeded) {
    state::NewRelease release;
    release.app = "hello";
    release.spec_yaml = spec;
    release.spec_file = "slipway.yaml";
    release.base_dir = "/tmp";
    release.created_by = "test";
    auto created = store->CreateRelease(release);
    ASSERT_TRUE(created.ok());
    ASSERT_TRUE(store->FinishRelease("hello", created->number, outcome, "why").ok());
    if (outcome == state::Outcome::kSucceeded) {
      ASSERT_TRUE(store->SetCurrentRelease("hello", created->number).ok());
    }
  }
  void StartMonitor() {
    monitor.reset();
    AlertMonitorEnv env;
    env.io = &io;
    env.store = store.get();
    env.poster = &poster;
    env.window_of = [this](const std::string&, std::int64_t) { return window; };
    env.wall_now = [this] { return now; };
    monitor = std::make_unique<AlertMonitor>(env);
    ASSERT_TRUE(monitor->Start().ok());
    monitor->Stop();  // the test evaluates, not the timer
  }
  void Traffic(int requests, int errors) {
    for (int i = 0; i < requests; ++i) {
      window->Record(0, i < errors ? 500 : 200, 2ms, std::chrono::steady_clock::now());
    }
  }
  // Evaluates at now + `at`, then lets the outbox deliver.
  void EvaluateAt(std::chrono::milliseconds at) {
    now = kT0 + at;
    monitor->EvaluateAll();
    io.restart();
    io.poll();
  }
  nlohmann::json Body(std::size_t i) { return nlohmann::json::parse(poster.calls.at(i).body); }
  nlohmann::json AlertsJson() { return monitor->ToJson("hello")["alerts"]; }

  boost::asio::io_context io;
  TempStore store;
  ScriptedPoster poster;
  std::shared_ptr<metrics::ReleaseWindow> window = std::make_shared<metrics::ReleaseWindow>(1);
  WallTime now = kT0;
  std::unique_ptr<AlertMonitor> monitor;
};

TEST_F(AlertMonitorTest, ErrorRateFiresAfterForNotifiesOnceAndResolves) {
  Deploy(Spec());
  StartMonitor();
  Traffic(100, 20);
  EvaluateAt(0s);
  ASSERT_EQ(AlertsJson().size(), 1u);
  EXPECT_EQ(AlertsJson()[0]["state"], "pending");
  EXPECT_EQ(AlertsJson()[0]["value_text"], "20.0%");
  EvaluateAt(1s);
  EXPECT_TRUE(poster.calls.empty());
  EvaluateAt(2s);
  EXPECT_EQ(AlertsJson()[0]["state"], "firing");
  ASSERT_EQ(poster.calls.size(), 1u);
  EXPECT_EQ(poster.calls[0].url, "http://127.0.0.1:9/hook");
  nlohmann::json body = Body(0);
  EXPECT_EQ(body["status"], "firing");
  EXPECT_EQ(body["receiver"], "ops");
  EXPECT_EQ(body["version"], "4");
  EXPECT_EQ(body["groupKey"], "{}:{alertname=\"HighErrorRate\", app=\"hello\"}");
  EXPECT_EQ(
      body["alerts"][0]["labels"],
      nlohmann::json({{"alertname", "HighErrorRate"}, {"app", "hello"}, {"severity", "critical"}}));
  EXPECT_EQ(body["alerts"][0]["startsAt"], FormatTime(kT0 + 2s));
  EXPECT_EQ(body["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(body["alerts"][0]["annotations"]["description"],
            "20.0% of the requests to release 1 of hello answered 5xx over the last 5m");
  ASSERT_TRUE(
      RunUntil(io, [&] { return AlertsJson()[0]["delivery"][0]["status"] == "delivered"; }));

  for (int s = 3; s < 30; ++s) EvaluateAt(std::chrono::seconds(s));
  EXPECT_EQ(poster.calls.size(), 1u) << "one notification per state change, not per evaluation";

  // A fix deploy: the new serving release's window has no errors.
  Deploy(Spec());
  window = std::make_shared<metrics::ReleaseWindow>(1);
  Traffic(50, 0);
  EvaluateAt(30s);
  EXPECT_EQ(AlertsJson()[0]["state"], "resolved");
  ASSERT_EQ(poster.calls.size(), 2u);
  body = Body(1);
  EXPECT_EQ(body["status"], "resolved");
  EXPECT_EQ(body["alerts"][0]["endsAt"], FormatTime(kT0 + 30s));
  EXPECT_EQ(body["alerts"][0]["fingerprint"], Body(0)["alerts"][0]["fingerprint"]);
  for (int s = 31; s < 60; ++s) EvaluateAt(std::chrono::seconds(s));
  EXPECT_EQ(poster.calls.size(), 2u);
}

TEST_F(AlertMonitorTest, ARestartDoesNotNotifyAStillFiringAlertAgain) {
  Deploy(Spec());
  StartMonitor();
  Traffic(100, 20);
  EvaluateAt(0s);
  EvaluateAt(2s);
  ASSERT_EQ(poster.calls.size(), 1u);
  // The daemon restarts: its windows start empty, so the rate is unknown for a while.
  store.Reopen();
  window = std::make_shared<metrics::ReleaseWindow>(1);
  StartMonitor();
  ASSERT_EQ(AlertsJson().size(), 1u);
  EXPECT_EQ(AlertsJson()[0]["state"], "firing");
  for (int s = 10; s < 20; ++s) EvaluateAt(std::chrono::seconds(s));
  EXPECT_EQ(AlertsJson()[0]["state"], "firing") << "no data is no recovery";
  Traffic(100, 30);
  for (int s = 20; s < 30; ++s) EvaluateAt(std::chrono::seconds(s));
  EXPECT_EQ(poster.calls.size(), 1u) << "still firing, already sent before the restart";
  window = std::make_shared<metrics::ReleaseWindow>(1);
  Traffic(100, 0);
  EvaluateAt(30s);
  ASSERT_EQ(poster.calls.size(), 2u);
  EXPECT_EQ(Body(1)["status"], "resolved");
}

TEST_F(AlertMonitorTest, AResolutionNotYetSentSurvivesARestart) {
  Deploy(Spec("1m"));
  StartMonitor();
  Traffic(100, 20);
  EvaluateAt(0s);
  EvaluateAt(2s);
  ASSERT_EQ(poster.calls.size(), 1u);
  window = std::make_shared<metrics::ReleaseWindow>(1);
  Traffic(100, 0);
  EvaluateAt(5s);
  EXPECT_EQ(AlertsJson()[0]["state"], "resolved");
  EXPECT_EQ(poster.calls.size(), 1u) << "within group_interval";
  store.Reopen();
  StartMonitor();
  EvaluateAt(30s);
  EXPECT_EQ(poster.calls.size(), 1u);
  EvaluateAt(62s);
  ASSERT_EQ(poster.calls.size(), 2u);
  EXPECT_EQ(Body(1)["status"], "resolved");
  EXPECT_EQ(Body(1)["alerts"][0]["endsAt"], FormatTime(kT0 + 5s)) << "when it resolved";
}

TEST_F(AlertMonitorTest, AFailedDeployFiresOnceAndResolvesLater) {
  Deploy(Spec());
  StartMonitor();
  Deploy(Spec(), state::Outcome::kFailed);
  now = WallClock::now();  // the store stamps the release with the real clock
  monitor->EvaluateAll();
  io.restart();
  io.poll();
  ASSERT_EQ(poster.calls.size(), 1u);
  nlohmann::json body = Body(0);
  EXPECT_EQ(body["groupLabels"]["alertname"], "DeployFailed");
  EXPECT_EQ(body["alerts"][0]["labels"]["release"], "2");
  EXPECT_EQ(body["alerts"][0]["annotations"]["summary"], "hello: release 2 failed to deploy");
  EXPECT_EQ(body["alerts"][0]["annotations"]["description"], "why");
  for (int i = 1; i < 10; ++i) {
    now += 1s;
    monitor->EvaluateAll();
  }
  io.restart();
  io.poll();
  EXPECT_EQ(poster.calls.size(), 1u);
  now += 2min;  // past resolve_after
  monitor->EvaluateAll();
  io.restart();
  io.poll();
  ASSERT_EQ(poster.calls.size(), 2u);
  EXPECT_EQ(Body(1)["status"], "resolved");
}

TEST_F(AlertMonitorTest, ADisabledRuleResolvesItsAlerts) {
  Deploy(Spec());
  StartMonitor();
  Traffic(100, 20);
  EvaluateAt(0s);
  EvaluateAt(2s);
  ASSERT_EQ(poster.calls.size(), 1u);
  std::string off = Spec();
  off.replace(off.find("error_rate: {for: 2s}"), 21, "error_rate: false");
  Deploy(off);
  EvaluateAt(5s);
  ASSERT_EQ(poster.calls.size(), 2u);
  EXPECT_EQ(Body(1)["status"], "resolved");
}

}  // namespace
}  // namespace slipway::alerts
