#include "report/delivery_report.h"

#include <gtest/gtest.h>

#include "report/timestamp.h"

namespace slipway::report {
namespace {

using state::Outcome;

constexpr std::int64_t kBase = 1793491200000;  // 2026-11-01T00:00:00.000Z
constexpr std::int64_t kSec = 1000;
constexpr std::int64_t kMin = 60 * kSec;
constexpr std::int64_t kHour = 60 * kMin;
constexpr std::int64_t kDay = 24 * kHour;

// A synthetic history; times are offsets from kBase in ms.
class History {
 public:
  explicit History(std::string app = "hello") { h_.app = std::move(app); }

  // Release number N+1; `finished` nullopt while deploying.
  History& Release(std::int64_t created, std::optional<std::int64_t> finished, Outcome outcome,
                   std::optional<std::int64_t> rollback_of = std::nullopt) {
    state::Release r;
    r.app = h_.app;
    r.number = static_cast<std::int64_t>(h_.releases.size()) + 1;
    r.created_at = FormatTimestampMs(kBase + created);
    if (finished) r.finished_at = FormatTimestampMs(kBase + *finished);
    r.outcome = finished ? outcome : Outcome::kDeploying;
    r.rollback_of = rollback_of;
    h_.releases.push_back(r);
    return *this;
  }
  History& Event(std::int64_t release, std::int64_t at, std::string kind, std::string message) {
    state::Event e;
    e.id = static_cast<std::int64_t>(h_.events.size()) + 1;
    e.app = h_.app;
    e.release = release;
    e.at = FormatTimestampMs(kBase + at);
    e.kind = std::move(kind);
    e.message = std::move(message);
    h_.events.push_back(e);
    return *this;
  }
  const AppHistory& get() const { return h_; }

 private:
  AppHistory h_;
};

Window Win(std::int64_t since, std::int64_t until) { return {kBase + since, kBase + until}; }

DeliveryReport Build(const std::vector<AppHistory>& histories, Window w) {
  auto r = BuildDeliveryReport(histories, w);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : DeliveryReport{};
}

DeliveryReport Build(const History& h, Window w) { return Build({h.get()}, w); }

// The acceptance story: v1 and v2 succeed, v3 fails its health checks (never serves), then a
// rollback to 1 while v2 serves.
History Story() {
  History h;
  h.Release(0, 10 * kSec, Outcome::kSucceeded)                            // 1
      .Release(1 * kHour, 1 * kHour + 20 * kSec, Outcome::kSucceeded)     // 2
      .Release(2 * kHour, 2 * kHour + 3 * kSec, Outcome::kFailed)         // 3
      .Release(3 * kHour, 3 * kHour + 4 * kSec, Outcome::kSucceeded, 1);  // 4
  h.Event(3, 2 * kHour + 1, "deploy.started", "release 3: 3 replica(s) of ./hello, rolling");
  h.Event(3, 2 * kHour + 2 * kSec, "replica.ready", "hello-r2-0 is ready again");
  return h;
}

TEST(DeliveryReport, TheAcceptanceStoryGivesExactKpis) {
  const auto r = Build(Story(), Win(-29 * kDay, 1 * kDay));  // 30 days
  EXPECT_EQ(r.apps, std::vector<std::string>{"hello"});
  EXPECT_EQ(r.deploys, 4);
  EXPECT_EQ(r.succeeded, 3);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.aborted, 0);
  EXPECT_TRUE(r.in_progress.empty());

  EXPECT_EQ(r.per_day, 3 / 30.0);
  EXPECT_EQ(r.per_week, 0.7);  // 21 / 30, not 3 / (30 / 7) = 0.7000000000000001

  // Lead time over the changes 1 and 2 (the rollback is not a change).
  EXPECT_EQ(r.lead_time_samples, 2);
  EXPECT_EQ(r.lead_time_p50_ms, 10 * kSec);
  EXPECT_EQ(r.lead_time_p90_ms, 20 * kSec);

  EXPECT_EQ(r.success_rate, 0.75);
  EXPECT_EQ(r.success_mark, Mark::kFail);

  // 3 never served: not a change. 2 served and was rolled back: a failed change.
  EXPECT_EQ(r.changes, 2);
  EXPECT_EQ(r.failed_changes, 1);
  EXPECT_EQ(r.change_failure_rate, 0.5);

  ASSERT_EQ(r.incidents.size(), 1u);
  const Incident& i = r.incidents[0];
  EXPECT_EQ(i.release, 2);
  EXPECT_EQ(i.kind, "rolled_back");
  EXPECT_EQ(i.started_ms, kBase + 1 * kHour + 20 * kSec);
  EXPECT_EQ(i.restored_ms, kBase + 3 * kHour + 4 * kSec);
  EXPECT_EQ(i.restored_by, 4);
  EXPECT_EQ(r.restored_incidents, 1);
  EXPECT_EQ(r.mttr_ms, 2 * kHour - 16 * kSec);
  EXPECT_EQ(r.mttr_mark, Mark::kFail);  // two hours in production before the rollback

  EXPECT_EQ(r.rollbacks, 1);
  EXPECT_EQ(r.rollbacks_succeeded, 1);
  EXPECT_EQ(r.rollback_max_ms, 4 * kSec);
  EXPECT_EQ(r.rollback_mean_ms, 4 * kSec);
  EXPECT_EQ(r.rollback_mark, Mark::kPass);
  EXPECT_EQ(r.overall, Mark::kFail);
}

TEST(DeliveryReport, AnEmptyHistoryHasNothingToJudge) {
  for (const auto& histories :
       {std::vector<AppHistory>{}, std::vector<AppHistory>{{"hello", {}, {}}}}) {
    const auto r = Build(histories, Win(0, 30 * kDay));
    EXPECT_EQ(r.deploys, 0);
    EXPECT_EQ(r.per_day, 0);
    EXPECT_EQ(r.per_week, 0);
    EXPECT_EQ(r.lead_time_samples, 0);
    EXPECT_EQ(r.lead_time_p50_ms, std::nullopt);
    EXPECT_EQ(r.success_rate, std::nullopt);
    EXPECT_EQ(r.success_mark, Mark::kNotApplicable);
    EXPECT_EQ(r.change_failure_rate, std::nullopt);
    EXPECT_TRUE(r.incidents.empty());
    EXPECT_EQ(r.mttr_ms, std::nullopt);
    EXPECT_EQ(r.mttr_mark, Mark::kPass);  // no incident: nothing took too long to restore
    EXPECT_EQ(r.rollback_max_ms, std::nullopt);
    EXPECT_EQ(r.rollback_mark, Mark::kPass);
    EXPECT_EQ(r.overall, Mark::kPass);
  }
}

TEST(DeliveryReport, DeploysInProgressAreListedAndNotCounted) {
  History h;
  h.Release(0, 10 * kSec, Outcome::kSucceeded)                 // 1
      .Release(1 * kHour, std::nullopt, Outcome::kDeploying);  // 2, running now
  const auto r = Build(h, Win(0, 2 * kHour));
  EXPECT_EQ(r.deploys, 1);
  EXPECT_EQ(r.succeeded, 1);
  EXPECT_EQ(r.success_rate, 1.0);
  EXPECT_EQ(r.success_mark, Mark::kPass);
  ASSERT_EQ(r.in_progress.size(), 1u);
  EXPECT_EQ(r.in_progress[0].number, 2);
  EXPECT_EQ(r.in_progress[0].created_at, FormatTimestampMs(kBase + 1 * kHour));
}

TEST(DeliveryReport, TheHistoryIsReadAsKnownAtUntil) {
  History h;
  h.Release(0, 10 * kSec, Outcome::kSucceeded)                     // 1
      .Release(1 * kHour, 3 * kHour, Outcome::kFailed)             // 2: fails after until
      .Release(4 * kHour, 4 * kHour + kSec, Outcome::kSucceeded);  // 3: after until
  const auto r = Build(h, Win(0, 2 * kHour));
  EXPECT_EQ(r.deploys, 1);
  EXPECT_EQ(r.failed, 0);
  ASSERT_EQ(r.in_progress.size(), 1u);  // release 2 was still deploying at until
  EXPECT_EQ(r.in_progress[0].number, 2);
  // Until is exclusive: a release that finishes exactly then is still deploying.
  const auto at_edge = Build(h, Win(0, 3 * kHour));
  EXPECT_EQ(at_edge.failed, 0);
  EXPECT_EQ(at_edge.in_progress.size(), 1u);
  EXPECT_EQ(Build(h, Win(0, 3 * kHour + 1)).failed, 1);
}

TEST(DeliveryReport, AWindowCountsTheReleasesCreatedInIt) {
  // The story, with the window starting between release 2 and release 3: the rollback (4) is
  // in it, but the change it undid (2) is not, so no change and no incident is.
  const auto r = Build(Story(), Win(1 * kHour + 1, 1 * kDay));
  EXPECT_EQ(r.deploys, 2);  // 3 and 4
  EXPECT_EQ(r.succeeded, 1);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.rollbacks, 1);
  EXPECT_EQ(r.changes, 0);
  EXPECT_EQ(r.change_failure_rate, std::nullopt);
  EXPECT_TRUE(r.incidents.empty());
  EXPECT_EQ(r.lead_time_samples, 0);
  // Since is inclusive: a window starting at release 2's creation has it.
  const auto from_2 = Build(Story(), Win(1 * kHour, 1 * kDay));
  EXPECT_EQ(from_2.deploys, 3);
  EXPECT_EQ(from_2.changes, 1);
  EXPECT_EQ(from_2.failed_changes, 1);
  EXPECT_EQ(from_2.change_failure_rate, 1.0);
  // Frequency is over the window's own length: 2 succeeded in 23 h - 1 h.
  EXPECT_EQ(from_2.per_day, 2.0 * kDay / (kDay - kHour));
}

TEST(DeliveryReport, LeadTimePercentilesAreNearestRank) {
  History h;
  // Ten succeeded changes taking 10 s, 20 s, ... 100 s, created in a shuffled order of length.
  const int lengths[] = {70, 10, 100, 40, 20, 90, 30, 60, 50, 80};
  for (int i = 0; i < 10; ++i) {
    h.Release(i * kHour, i * kHour + lengths[i] * kSec, Outcome::kSucceeded);
  }
  const auto r = Build(h, Win(0, 1 * kDay));
  EXPECT_EQ(r.lead_time_samples, 10);
  EXPECT_EQ(r.lead_time_p50_ms, 50 * kSec);  // the 5th of 10
  EXPECT_EQ(r.lead_time_p90_ms, 90 * kSec);  // the 9th of 10
  History one;
  one.Release(0, 1234, Outcome::kSucceeded);
  const auto single = Build(one, Win(0, 1 * kDay));
  EXPECT_EQ(single.lead_time_p50_ms, 1234);
  EXPECT_EQ(single.lead_time_p90_ms, 1234);
}

TEST(DeliveryReport, SuccessRateMustBeAbove95Percent) {
  History h;
  for (int i = 0; i < 19; ++i) h.Release(i * kMin, i * kMin + kSec, Outcome::kSucceeded);
  h.Release(30 * kMin, 30 * kMin + kSec, Outcome::kAborted);  // aborted at 0%: a failed deploy
  const auto r = Build(h, Win(0, 1 * kDay));
  EXPECT_EQ(r.success_rate, 0.95);
  EXPECT_EQ(r.success_mark, Mark::kFail);  // 95% is not above 95%
  EXPECT_EQ(r.aborted, 1);
  EXPECT_EQ(r.changes, 19);  // the abort never served
  EXPECT_EQ(r.failed_changes, 0);
  h.Release(40 * kMin, 40 * kMin + kSec, Outcome::kSucceeded);
  const auto more = Build(h, Win(0, 1 * kDay));
  EXPECT_EQ(more.success_rate, 20 / 21.0);
  EXPECT_EQ(more.success_mark, Mark::kPass);
}

TEST(DeliveryReport, OnlyARollbackToAnEarlierReleaseFailsTheServingOne) {
  History h;
  h.Release(0, kMin, Outcome::kSucceeded)                         // 1
      .Release(1 * kHour, 1 * kHour + kMin, Outcome::kSucceeded)  // 2
      // A redeploy of the serving release itself: not a failure of 2.
      .Release(2 * kHour, 2 * kHour + kMin, Outcome::kSucceeded, 2)  // 3 (serves 2's spec)
      .Release(3 * kHour, 3 * kHour + kMin, Outcome::kSucceeded)     // 4
      // While 4 serves, back to 1: 4 failed, and neither 1 nor 2 did.
      .Release(4 * kHour, 4 * kHour + 2 * kMin, Outcome::kSucceeded, 1);  // 5
  const auto r = Build(h, Win(0, 1 * kDay));
  EXPECT_EQ(r.changes, 3);  // 1, 2, 4
  EXPECT_EQ(r.failed_changes, 1);
  ASSERT_EQ(r.incidents.size(), 1u);
  EXPECT_EQ(r.incidents[0].release, 4);
  EXPECT_EQ(r.incidents[0].restored_by, 5);
  EXPECT_EQ(r.mttr_ms, 1 * kHour + kMin);  // 4 served from 3h01m until 5 finished at 4h02m
  EXPECT_EQ(r.rollbacks, 2);
  EXPECT_EQ(r.rollback_max_ms, 2 * kMin);
  EXPECT_EQ(r.rollback_mean_ms, 90 * kSec);
}

TEST(DeliveryReport, AFailedRollbackFailsTheTargetAndTheNextOneRestores) {
  History h;
  h.Release(0, kMin, Outcome::kSucceeded)                                 // 1
      .Release(1 * kHour, 1 * kHour + kMin, Outcome::kSucceeded)          // 2
      .Release(2 * kHour, 2 * kHour + 5 * kMin, Outcome::kFailed, 1)      // 3: rollback fails
      .Release(3 * kHour, 3 * kHour + 2 * kMin, Outcome::kSucceeded, 1);  // 4: this one works
  const auto r = Build(h, Win(0, 1 * kDay));
  EXPECT_EQ(r.rollbacks, 2);
  EXPECT_EQ(r.rollbacks_succeeded, 1);
  EXPECT_EQ(r.rollback_max_ms, 2 * kMin);  // durations are of the succeeded rollbacks
  EXPECT_EQ(r.rollback_mark, Mark::kFail);
  EXPECT_EQ(r.failed_changes, 1);  // 2, counted once
  ASSERT_EQ(r.incidents.size(), 1u);
  EXPECT_EQ(r.incidents[0].restored_by, 4);
  EXPECT_EQ(r.mttr_ms, 3 * kHour + 2 * kMin - (1 * kHour + kMin));
}

TEST(DeliveryReport, TargetsAreStrict) {
  auto with_rollback = [](std::int64_t rollback_ms) {
    History h;
    h.Release(0, kMin, Outcome::kSucceeded)
        .Release(kHour, kHour + kMin, Outcome::kSucceeded)
        .Release(kHour + kMin + 10 * kMin, kHour + kMin + 10 * kMin + rollback_ms,
                 Outcome::kSucceeded, 1);
    return Build(h, Win(0, kDay));
  };
  EXPECT_EQ(with_rollback(15 * kMin - 1).rollback_mark, Mark::kPass);
  EXPECT_EQ(with_rollback(15 * kMin).rollback_mark, Mark::kFail);
  // MTTR = 10 min before the rollback + the rollback: 30 min - 1 ms passes, 30 min fails.
  EXPECT_EQ(with_rollback(20 * kMin - 1).mttr_ms, 30 * kMin - 1);
  EXPECT_EQ(with_rollback(20 * kMin - 1).mttr_mark, Mark::kPass);
  EXPECT_EQ(with_rollback(20 * kMin).mttr_mark, Mark::kFail);
}

TEST(DeliveryReport, MttrIsTheRoundedMeanOfRestoredIncidents) {
  History h;
  h.Release(0, kMin, Outcome::kSucceeded)                                 // 1
      .Release(kHour, kHour, Outcome::kSucceeded)                         // 2
      .Release(kHour + 500, kHour + 1000, Outcome::kSucceeded, 1)         // 3: 2 down 1000 ms
      .Release(2 * kHour, 2 * kHour, Outcome::kSucceeded)                 // 4
      .Release(2 * kHour + 1, 2 * kHour + 1001, Outcome::kSucceeded, 3);  // 5: 4 down 1001 ms
  const auto r = Build(h, Win(0, kDay));
  ASSERT_EQ(r.incidents.size(), 2u);
  EXPECT_EQ(r.mttr_ms, 1001);          // 1000.5, halves up
  EXPECT_EQ(r.rollback_mean_ms, 750);  // (500 + 1000) / 2
}

TEST(DeliveryReport, AnOpenIncidentFailsOnceItIsOlderThanTheTarget) {
  History h;
  h.Release(0, kMin, Outcome::kSucceeded)                                // 1
      .Release(kHour, kHour + kMin, Outcome::kSucceeded)                 // 2: serving from 1h01m
      .Release(kHour + 5 * kMin, std::nullopt, Outcome::kDeploying, 1);  // 3: rolling back
  const auto young = Build(h, Win(0, kHour + 15 * kMin));  // open 14 min, rolling back 10 min
  ASSERT_EQ(young.incidents.size(), 1u);
  EXPECT_EQ(young.incidents[0].restored_ms, std::nullopt);
  EXPECT_EQ(young.restored_incidents, 0);
  EXPECT_EQ(young.mttr_ms, std::nullopt);
  EXPECT_EQ(young.mttr_mark, Mark::kNotApplicable);
  EXPECT_EQ(young.rollback_mark, Mark::kPass);
  EXPECT_EQ(young.overall, Mark::kPass);
  const auto old = Build(h, Win(0, kHour + 31 * kMin));  // open 30 min, rolling back 26 min
  EXPECT_EQ(old.mttr_mark, Mark::kFail);
  EXPECT_EQ(old.rollback_mark, Mark::kFail);
  EXPECT_EQ(old.overall, Mark::kFail);
}

TEST(DeliveryReport, ARollbackStillRunningPastItsTargetFails) {
  History h;
  h.Release(0, kMin, Outcome::kSucceeded)
      .Release(kHour, kHour + kMin, Outcome::kSucceeded)
      .Release(2 * kHour, std::nullopt, Outcome::kDeploying, 1);
  EXPECT_EQ(Build(h, Win(0, 2 * kHour + 15 * kMin - 1)).rollback_mark, Mark::kPass);
  EXPECT_EQ(Build(h, Win(0, 2 * kHour + 15 * kMin)).rollback_mark, Mark::kFail);
}

TEST(DeliveryReport, ACanaryAbortedAfterServingIsAFailedChange) {
  History h;
  h.Release(0, kMin, Outcome::kSucceeded)                            // 1
      .Release(kHour, kHour + 3 * kMin, Outcome::kAborted)           // 2: served 20% for 2 min
      .Release(2 * kHour, 2 * kHour + 3 * kMin, Outcome::kAborted);  // 3: aborted at 0%
  h.Event(2, kHour + 1, "rollout.started", "canary beside release 1: weight 20%");
  h.Event(2, kHour + kMin, "rollout.weight", "release 2 gets 20% of the traffic (was 0%)");
  h.Event(2, kHour + 3 * kMin, "rollout.aborted", "release 2 aborted: error rate");
  h.Event(3, 2 * kHour + 1, "rollout.started", "canary beside release 1: weight 20%");
  h.Event(3, 2 * kHour + 3 * kMin, "rollout.aborted", "release 3 aborted: crash loop");
  const auto r = Build(h, Win(0, kDay));
  EXPECT_EQ(r.deploys, 3);
  EXPECT_EQ(r.aborted, 2);
  EXPECT_EQ(r.changes, 2);  // 1 and 2
  EXPECT_EQ(r.failed_changes, 1);
  EXPECT_EQ(r.change_failure_rate, 0.5);
  ASSERT_EQ(r.incidents.size(), 1u);
  EXPECT_EQ(r.incidents[0].kind, "aborted");
  EXPECT_EQ(r.incidents[0].started_ms, kBase + kHour + kMin);
  EXPECT_EQ(r.incidents[0].restored_ms, kBase + kHour + 3 * kMin);
  EXPECT_EQ(r.incidents[0].restored_by, std::nullopt);
  EXPECT_EQ(r.mttr_ms, 2 * kMin);
  EXPECT_EQ(r.lead_time_samples, 1);  // lead time is of succeeded changes only
}

TEST(DeliveryReport, ARollingDeployThatFailedAfterAReplicaServedIsAFailedChange) {
  History h;
  h.Release(0, kMin, Outcome::kSucceeded)                   // 1
      .Release(kHour, kHour + 2 * kMin, Outcome::kFailed);  // 2
  h.Event(2, kHour + 10 * kSec, "replica.ready", "hello-r2-0 is ready (after 10s)");
  const auto r = Build(h, Win(0, kDay));
  EXPECT_EQ(r.failed_changes, 1);
  ASSERT_EQ(r.incidents.size(), 1u);
  EXPECT_EQ(r.incidents[0].kind, "failed");
  EXPECT_EQ(r.mttr_ms, 2 * kMin - 10 * kSec);
}

TEST(DeliveryReport, AppsArePooledNotAveraged) {
  History a("alpha");
  a.Release(0, 10 * kSec, Outcome::kSucceeded);
  History b("beta");
  b.Release(0, 30 * kSec, Outcome::kSucceeded)
      .Release(kHour, kHour + 40 * kSec, Outcome::kFailed)
      .Release(2 * kHour, 2 * kHour + 20 * kSec, Outcome::kSucceeded);
  const auto r = Build({b.get(), a.get()}, Win(0, kDay));
  EXPECT_EQ(r.apps, (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(r.deploys, 4);
  EXPECT_EQ(r.success_rate, 0.75);  // not the mean of 1.0 and 0.667
  EXPECT_EQ(r.per_day, 3.0);
  EXPECT_EQ(r.lead_time_samples, 3);
  EXPECT_EQ(r.lead_time_p50_ms, 20 * kSec);
}

TEST(DeliveryReport, AnUnreadableTimeOrAnEmptyWindowIsAnError) {
  AppHistory h{"hello", {}, {}};
  state::Release bad;
  bad.app = "hello";
  bad.number = 1;
  bad.created_at = "yesterday";
  h.releases.push_back(bad);
  auto r = BuildDeliveryReport({h}, Win(0, kDay));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "report: hello release 1 has an unreadable created_at \"yesterday\"");
  EXPECT_FALSE(BuildDeliveryReport({}, Win(kDay, kDay)));
}

}  // namespace
}  // namespace slipway::report
