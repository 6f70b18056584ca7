#include "report/traffic_exposure.h"

#include <gtest/gtest.h>

namespace slipway::report {
namespace {

// The events are worded as the rollout module writes them (progressive_rollout.cc,
// replica_unit.cc); a change of wording there must change these and traffic_exposure.cc.
state::Event Ev(std::int64_t release, std::string at, std::string kind, std::string message) {
  state::Event e;
  e.app = "hello";
  e.release = release;
  e.at = std::move(at);
  e.kind = std::move(kind);
  e.message = std::move(message);
  return e;
}

state::Release Rel(std::int64_t number, state::Outcome outcome) {
  state::Release r;
  r.app = "hello";
  r.number = number;
  r.outcome = outcome;
  return r;
}

TEST(FirstProductionTraffic, ACanaryServesFromItsFirstNonZeroWeight) {
  std::vector<state::Event> events = {
      Ev(5, "t1", "rollout.started", "canary beside release 4: weight 0%, weight 20%"),
      Ev(5, "t2", "replica.ready", "hello-r5-0 is ready (after 1.2s)"),
      Ev(5, "t3", "rollout.weight", "release 5 gets 0% of the traffic (was 0%)"),
      Ev(5, "t4", "rollout.weight", "release 5 gets 20% of the traffic (was 0%)"),
      Ev(5, "t5", "rollout.aborted", "release 5 aborted: error rate; release 4 keeps serving"),
  };
  EXPECT_EQ(FirstProductionTraffic(Rel(5, state::Outcome::kAborted), events), "t4");
}

TEST(FirstProductionTraffic, ACanaryAbortedAtZeroPercentNeverServed) {
  std::vector<state::Event> events = {
      Ev(5, "t1", "rollout.started", "canary beside release 4: weight 20%"),
      Ev(5, "t2", "replica.ready", "hello-r5-0 is ready (after 1.2s)"),
      Ev(5, "t3", "replica.failed", "hello-r5-0 crashed"),
      Ev(5, "t4", "rollout.aborted", "release 5 aborted: crash loop; release 4 keeps serving"),
  };
  EXPECT_EQ(FirstProductionTraffic(Rel(5, state::Outcome::kAborted), events), std::nullopt);
}

TEST(FirstProductionTraffic, ABlueGreenSetServesFromItsPromotion) {
  std::vector<state::Event> preview_only = {
      Ev(5, "t1", "rollout.started", "blue-green: 3 new replica(s) beside release 4"),
      Ev(5, "t2", "replica.ready", "hello-r5-0 is ready (after 1.2s)"),
      Ev(5, "t3", "rollout.ready", "all 3 replica(s) of release 5 are ready"),
      Ev(5, "t4", "rollout.aborted", "release 5 aborted: by root"),
  };
  EXPECT_EQ(FirstProductionTraffic(Rel(5, state::Outcome::kAborted), preview_only), std::nullopt);
  auto promoted = preview_only;
  promoted.insert(promoted.begin() + 3,
                  Ev(5, "t3b", "rollout.promoted", "release 5 takes all the traffic"));
  EXPECT_EQ(FirstProductionTraffic(Rel(5, state::Outcome::kAborted), promoted), "t3b");
}

TEST(FirstProductionTraffic, ARollingDeployServesFromItsFirstReadyReplica) {
  // During a rolling deploy the old replicas' events are recorded under the new release too.
  std::vector<state::Event> events = {
      Ev(3, "t1", "deploy.started", "release 3: 3 replica(s) of ./hello, rolling"),
      Ev(3, "t2", "replica.ready", "hello-r2-1 is ready again"),
      Ev(3, "t3", "replica.ready", "hello-r3-0 is ready (after 900ms)"),
      Ev(3, "t4", "deploy.failed", "release 3 failed: ready deadline"),
  };
  EXPECT_EQ(FirstProductionTraffic(Rel(3, state::Outcome::kFailed), events), "t3");
  events.erase(events.begin() + 2);
  EXPECT_EQ(FirstProductionTraffic(Rel(3, state::Outcome::kFailed), events), std::nullopt);
}

TEST(FirstProductionTraffic, OnlyTheReleasesOwnEventsCount) {
  std::vector<state::Event> events = {
      Ev(30, "t1", "replica.ready", "hello-r30-0 is ready (after 1s)"),
      Ev(4, "t2", "rollout.promoted", "release 4 takes all the traffic"),
  };
  EXPECT_EQ(FirstProductionTraffic(Rel(3, state::Outcome::kFailed), events), std::nullopt);
}

TEST(FirstProductionTraffic, AnUnreadableWeightCountsAsTraffic) {
  std::vector<state::Event> events = {
      Ev(5, "t1", "rollout.started", "canary"),
      Ev(5, "t2", "rollout.weight", "release 5 weight changed"),
  };
  EXPECT_EQ(FirstProductionTraffic(Rel(5, state::Outcome::kAborted), events), "t2");
}

}  // namespace
}  // namespace slipway::report
