// Rollout progress, replica identities, analysis results, flags, and the v1 -> v2 migration.
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "state/release_store.h"
#include "temp_store_fixture.h"

namespace slipway::state {
namespace {

namespace fs = std::filesystem;

class RolloutStoreTest : public TempStoreTest {
 protected:
  RolloutStoreTest() : TempStoreTest("slipway-rollout-", OpenAt::kFirstUse) {}
  int64_t Create(const std::string& app) {
    NewRelease release;
    release.app = app;
    release.spec_yaml = "app: " + app + "\n";
    release.spec_file = "/srv/slipway.yaml";
    release.base_dir = "/srv";
    release.created_by = "test";
    auto r = Store().CreateRelease(release);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->number : 0;
  }
  static RolloutRecord Canary() {
    RolloutRecord r;
    r.app = "web";
    r.release = 1;
    r.strategy = "canary";
    r.phase = "steps";
    return r;
  }
};

TEST_F(RolloutStoreTest, RolloutProgressIsSavedAndListedWhileItsReleaseDeploys) {
  Create("web");
  RolloutRecord r = Canary();
  r.step = 2;
  r.weight = 50;
  r.paused = true;
  r.pause_reason = "manual pause";
  r.step_started_ms = 1234;
  r.step_elapsed_ms = 500;
  ASSERT_TRUE(Store().SaveRollout(r).ok());
  r.step = 3;
  ASSERT_TRUE(Store().SaveRollout(r).ok()) << "saving again replaces";
  auto got = Store().GetRollout("web", 1);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->step, 3);
  EXPECT_EQ((*got)->weight, 50);
  EXPECT_TRUE((*got)->paused);
  EXPECT_EQ((*got)->pause_reason, "manual pause");
  EXPECT_EQ((*got)->step_elapsed_ms, 500);
  EXPECT_EQ(Store().UnfinishedRollouts()->size(), 1u);
  ASSERT_TRUE(Store().FinishRelease("web", 1, Outcome::kAborted, "error_rate 31% > 5%").ok());
  EXPECT_TRUE(Store().UnfinishedRollouts()->empty()) << "a finished release's rollout is done";
  EXPECT_EQ((*Store().GetRelease("web", 1))->outcome, Outcome::kAborted);
  EXPECT_STREQ(OutcomeName(Outcome::kAborted), "aborted");
}

TEST_F(RolloutStoreTest, SchemaRefusesImpossibleRollouts) {
  Create("web");
  RolloutRecord bad = Canary();
  bad.weight = 101;
  EXPECT_FALSE(Store().SaveRollout(bad).ok());
  bad.weight = 10;
  bad.release = 7;
  EXPECT_FALSE(Store().SaveRollout(bad).ok()) << "no release 7";
}

TEST_F(RolloutStoreTest, ReplicaIdentitiesRoundTrip) {
  ReplicaRecord r;
  r.app = "web";
  r.name = "web-r1-0";
  r.release = 1;
  r.port = 40001;
  r.pid = 4242;
  r.start_time = 987654321;
  r.boot_id = "b0";
  r.token = "t0";
  ASSERT_TRUE(Store().SaveReplica(r).ok());
  r.name = "web-r1-1";
  r.index = 1;
  r.pid = 4243;
  ASSERT_TRUE(Store().SaveReplica(r).ok());
  auto all = Store().ListReplicas();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].start_time, 987654321u);
  EXPECT_EQ((*all)[1].pid, 4243);
  ASSERT_TRUE(Store().DeleteReplica("web", "web-r1-0").ok());
  EXPECT_EQ(Store().ListReplicas()->size(), 1u);
}

TEST_F(RolloutStoreTest, AnalysisResultsAreAppendOnlyAndNewestKept) {
  Create("web");
  for (int i = 0; i < 5; ++i) {
    AnalysisRecord a;
    a.app = "web";
    a.release = 1;
    a.step = i;
    a.verdict = i == 4 ? "fail" : "pass";
    a.summary = "evaluation " + std::to_string(i);
    a.checks_json = "[]";
    ASSERT_TRUE(Store().AppendAnalysis(a).ok());
  }
  auto recent = Store().RecentAnalysis("web", 1, 2);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].summary, "evaluation 3");
  EXPECT_EQ((*recent)[1].verdict, "fail");
  Store();
  EXPECT_NE(RawSql("UPDATE analysis_results SET verdict = 'pass'"), "");
  EXPECT_NE(RawSql("INSERT INTO analysis_results (app, \"release\", at, step, verdict, summary, "
                   "checks_json) VALUES ('web', 1, 'x', 0, 'maybe', '', '[]')"),
            "");
}

TEST_F(RolloutStoreTest, FlagChangesAreRecordedAsEvents) {
  Create("web");
  ASSERT_TRUE(Store().SetFlag("web", "beta", "25%", "alice").ok());
  ASSERT_TRUE(Store().SetFlag("web", "beta", "50%", "bob").ok());
  auto flags = Store().ListFlags("web");
  ASSERT_TRUE(flags.ok());
  ASSERT_EQ(flags->size(), 1u);
  EXPECT_EQ((*flags)[0].value, "50%");
  EXPECT_EQ((*flags)[0].updated_by, "bob");
  auto events = Store().EventsSince("web", 0);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].kind, "flag.changed");
  EXPECT_EQ((*events)[1].message, "flag beta set to 50% (was 25%) by bob");
}

// A state file written by a slipway with schema v1 keeps its apps and releases (and their
// links) and may then record an aborted release.
TEST_F(RolloutStoreTest, MigratesAVersion1StateFile) {
  ASSERT_EQ(RawSql(R"sql(
PRAGMA foreign_keys = ON;
CREATE TABLE apps (
  name TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),
  created_at TEXT NOT NULL,
  current_release INTEGER,
  desired_state TEXT NOT NULL DEFAULT 'running' CHECK (desired_state IN ('running', 'stopped')),
  FOREIGN KEY (name, current_release) REFERENCES releases (app, number)
) STRICT;
CREATE TABLE releases (
  app TEXT NOT NULL REFERENCES apps (name),
  number INTEGER NOT NULL CHECK (number > 0),
  spec_yaml TEXT NOT NULL, spec_file TEXT NOT NULL, base_dir TEXT NOT NULL,
  created_by TEXT NOT NULL, created_at TEXT NOT NULL, rollback_of INTEGER,
  outcome TEXT NOT NULL DEFAULT 'deploying' CHECK (outcome IN ('deploying', 'succeeded', 'failed')),
  reason TEXT NOT NULL DEFAULT '', finished_at TEXT,
  PRIMARY KEY (app, number),
  FOREIGN KEY (app, rollback_of) REFERENCES releases (app, number),
  CHECK ((outcome = 'deploying') = (finished_at IS NULL))
) STRICT;
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, app TEXT NOT NULL,
  "release" INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL, kind TEXT NOT NULL,
  message TEXT NOT NULL) STRICT;
INSERT INTO apps (name, created_at) VALUES ('web', 't');
INSERT INTO releases VALUES ('web', 1, 'app: web', 'f', 'd', 'alice', 't', NULL, 'succeeded', '', 't');
INSERT INTO releases VALUES ('web', 2, 'app: web', 'f', 'd', 'alice', 't', 1, 'deploying', '', NULL);
UPDATE apps SET current_release = 1;
PRAGMA user_version = 1;
)sql"),
            "");
  auto releases = Store().ListReleases("web");
  ASSERT_TRUE(releases.ok());
  ASSERT_EQ(releases->size(), 2u);
  EXPECT_EQ((*releases)[0].outcome, Outcome::kSucceeded);
  EXPECT_EQ((*releases)[1].rollback_of, 1);
  EXPECT_EQ((*Store().GetApp("web"))->current_release, 1);
  ASSERT_TRUE(Store().FinishRelease("web", 2, Outcome::kAborted, "aborted by alice").ok());
  EXPECT_NE(RawSql("DELETE FROM releases"), "") << "the rebuilt table keeps its triggers";
  EXPECT_NE(RawSql("UPDATE releases SET spec_yaml = 'x'"), "");
  EXPECT_EQ(Create("web"), 3);
}

}  // namespace
}  // namespace slipway::state
