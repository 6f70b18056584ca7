#include "state/release_store.h"
#include "temp_store_fixture.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include <gtest/gtest.h>

namespace slipway::state {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards: every test uses a real SQLite file.
class ReleaseStoreTest : public TempStoreTest {
 protected:
  ReleaseStoreTest() : TempStoreTest("slipway-state-", OpenAt::kSetUp) {}

  Release Create(const std::string& app, std::optional<int64_t> rollback_of = std::nullopt) {
    NewRelease nr{.app = app,
                  .spec_yaml = "app: " + app + "\n",
                  .spec_file = "/srv/" + app + "/slipway.yaml",
                  .base_dir = "/srv/" + app,
                  .created_by = "alice (uid 1000)",
                  .rollback_of = rollback_of,
                  .image_id = ""};
    auto r = store_->CreateRelease(nr);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Release{};
  }
};

TEST_F(ReleaseStoreTest, NumbersReleasesPerAppAndCreatesTheApp) {
  EXPECT_EQ(Create("web").number, 1);
  EXPECT_EQ(Create("web").number, 2);
  EXPECT_EQ(Create("api").number, 1);
  Release r = Create("web");
  EXPECT_EQ(r.number, 3);
  EXPECT_EQ(r.outcome, Outcome::kDeploying);
  EXPECT_EQ(r.spec_yaml, "app: web\n");
  EXPECT_EQ(r.created_by, "alice (uid 1000)");
  EXPECT_TRUE(
      std::regex_match(r.created_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << r.created_at;

  auto list = store_->ListReleases("web");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].number, 1);
  EXPECT_EQ((*list)[2].number, 3);
  EXPECT_EQ((*list)[2].created_at, r.created_at);

  auto apps = store_->ListApps();
  ASSERT_TRUE(apps.ok());
  ASSERT_EQ(apps->size(), 2u);
  EXPECT_EQ((*apps)[0].name, "api");
  EXPECT_EQ((*apps)[1].name, "web");
}

TEST_F(ReleaseStoreTest, SummariesGiveOutcomesRollbacksAndDurations) {
  const auto t0 = std::chrono::system_clock::now();
  Create("web");
  Create("web");
  Create("web", 1);
  Create("web");
  ASSERT_TRUE(store_->FinishRelease("web", 1, Outcome::kSucceeded, ""));
  ASSERT_TRUE(store_->FinishRelease("web", 2, Outcome::kFailed, "crashed"));
  ASSERT_TRUE(store_->FinishRelease("web", 3, Outcome::kAborted, "analysis"));
  const auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() - t0)
          .count();
  auto list = store_->ListReleaseSummaries("web");
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ((*list)[0].number, 1);
  EXPECT_EQ((*list)[0].outcome, Outcome::kSucceeded);
  EXPECT_EQ((*list)[1].outcome, Outcome::kFailed);
  EXPECT_EQ((*list)[2].outcome, Outcome::kAborted);
  EXPECT_EQ((*list)[3].outcome, Outcome::kDeploying);
  EXPECT_FALSE((*list)[0].rollback);
  EXPECT_TRUE((*list)[2].rollback);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*list)[i].duration_ms.has_value()) << i;
    EXPECT_GE(*(*list)[i].duration_ms, 0) << i;
    EXPECT_LE(*(*list)[i].duration_ms, elapsed_ms + 1) << i;  // +1: millisecond rounding
  }
  EXPECT_FALSE((*list)[3].duration_ms.has_value());  // still deploying
  auto none = store_->ListReleaseSummaries("nope");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(ReleaseStoreTest, RollbackMustNameAnExistingRelease) {
  Create("web");
  Create("web");
  Release rb = Create("web", 1);
  EXPECT_EQ(rb.number, 3);
  EXPECT_EQ(rb.rollback_of, std::optional<int64_t>(1));

  NewRelease nr;
  nr.app = "web";
  nr.rollback_of = 9;
  auto bad = store_->CreateRelease(nr);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("no such release"), std::string::npos);
  // The failed attempt used no number.
  EXPECT_EQ(Create("web").number, 4);
}

TEST_F(ReleaseStoreTest, HistorySurvivesCloseAndReopen) {
  Create("web");
  Create("web");
  ASSERT_TRUE(store_->FinishRelease("web", 1, Outcome::kSucceeded, "").ok());
  ASSERT_TRUE(store_->SetCurrentRelease("web", 1).ok());
  ASSERT_TRUE(store_->AppendEvent("web", 2, "deploy.started", "rolling").ok());
  store_.reset();

  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  auto r1 = store_->GetRelease("web", 1);
  ASSERT_TRUE(r1.ok());
  ASSERT_TRUE(r1->has_value());
  EXPECT_EQ((*r1)->outcome, Outcome::kSucceeded);
  EXPECT_FALSE((*r1)->finished_at.empty());
  auto app = store_->GetApp("web");
  ASSERT_TRUE(app.ok() && app->has_value());
  EXPECT_EQ((*app)->current_release, std::optional<int64_t>(1));
  auto events = store_->EventsSince("web", 0);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "deploy.started");
  // Numbering continues where it left off.
  EXPECT_EQ(Create("web").number, 3);
}

TEST_F(ReleaseStoreTest, UsesWalAndTheLatestSchemaVersion) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  auto query = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
    std::string v = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return v;
  };
  EXPECT_EQ(query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query("PRAGMA user_version"), "5");
  sqlite3_close(db);
}

TEST_F(ReleaseStoreTest, SchemaForbidsRewritingReleases) {
  Create("web");
  Create("web");
  ASSERT_TRUE(store_->FinishRelease("web", 2, Outcome::kFailed, "probe timeout").ok());

  auto has = [](const std::string& err, const char* want) {
    return err.find(want) != std::string::npos;
  };
  EXPECT_PRED2(has, RawSql("DELETE FROM releases WHERE app = 'web' AND number = 1"),
               "cannot be deleted");
  EXPECT_PRED2(has, RawSql("DELETE FROM releases"), "cannot be deleted");
  for (const char* column :
       {"spec_yaml = 'x'", "spec_file = 'x'", "base_dir = 'x'", "created_by = 'x'",
        "created_at = 'x'", "number = 7", "app = 'other'", "rollback_of = 1"}) {
    std::string err = RawSql(std::string("UPDATE releases SET ") + column + " WHERE number = 1");
    EXPECT_NE(err.find("immutable"), std::string::npos) << column << ": " << err;
  }
  // Outcome moves once, from deploying, to a final value.
  EXPECT_PRED2(has, RawSql("UPDATE releases SET outcome = 'succeeded' WHERE number = 2"),
               "changes once");
  EXPECT_PRED2(has, RawSql("UPDATE releases SET outcome = 'deploying' WHERE number = 2"),
               "changes once");
  EXPECT_PRED2(has, RawSql("UPDATE releases SET reason = 'rewritten' WHERE number = 2"),
               "cannot be changed");
  EXPECT_NE(RawSql("UPDATE releases SET outcome = 'bogus', finished_at = 'x' WHERE number = 1"),
            "");
  EXPECT_NE(RawSql("INSERT INTO releases (app, number, spec_yaml, spec_file, base_dir, "
                   "created_by, created_at, outcome, finished_at) "
                   "VALUES ('web', 3, '', '', '', '', '', 'succeeded', 'x')"),
            "");
  // The one legal move still works through raw SQL.
  EXPECT_EQ(RawSql("UPDATE releases SET outcome = 'succeeded', finished_at = 'x' "
                   "WHERE number = 1"),
            "");

  auto list = store_->ListReleases("web");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].spec_yaml, "app: web\n");
  EXPECT_EQ((*list)[1].outcome, Outcome::kFailed);
  EXPECT_EQ((*list)[1].reason, "probe timeout");
}

TEST_F(ReleaseStoreTest, SchemaForbidsRewritingEvents) {
  ASSERT_TRUE(store_->AppendEvent("web", 0, "app.created", "hi").ok());
  EXPECT_NE(RawSql("UPDATE events SET message = 'lie'").find("append-only"), std::string::npos);
  EXPECT_NE(RawSql("DELETE FROM events").find("append-only"), std::string::npos);
  auto events = store_->EventsSince("web", 0);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].message, "hi");
}

TEST_F(ReleaseStoreTest, ADockerReleasePinsItsImageOnceWhileDeploying) {
  const std::string v1 = "sha256:" + std::string(64, 'a');
  Create("web");
  EXPECT_EQ(store_->GetRelease("web", 1)->value().image_id, "");
  ASSERT_TRUE(store_->SetReleaseImage("web", 1, v1).ok());
  EXPECT_EQ(store_->GetRelease("web", 1)->value().image_id, v1);
  auto again = store_->SetReleaseImage("web", 1, "sha256:" + std::string(64, 'b'));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("pins its image once"), std::string::npos)
      << again.error().message;
  ASSERT_TRUE(store_->FinishRelease("web", 1, Outcome::kSucceeded, "").ok());

  // A rollback carries the image of the release it goes back to, from its creation.
  NewRelease rollback{.app = "web",
                      .spec_yaml = "app: web\n",
                      .spec_file = "/srv/web/slipway.yaml",
                      .base_dir = "/srv/web",
                      .created_by = "alice (uid 1000)",
                      .rollback_of = 1,
                      .image_id = v1};
  auto r2 = store_->CreateRelease(rollback);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->image_id, v1);
  EXPECT_EQ(store_->ListReleases("web")->back().image_id, v1);
  Create("web");
  ASSERT_TRUE(store_->FinishRelease("web", 3, Outcome::kFailed, "x").ok());
  EXPECT_FALSE(store_->SetReleaseImage("web", 3, v1).ok()) << "a finished release is frozen";
}

TEST_F(ReleaseStoreTest, FinishReleaseOnlyOnce) {
  Create("web");
  ASSERT_TRUE(store_->FinishRelease("web", 1, Outcome::kSucceeded, "").ok());
  auto again = store_->FinishRelease("web", 1, Outcome::kFailed, "late");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already finished (succeeded)"), std::string::npos)
      << again.error().message;

  auto missing = store_->FinishRelease("web", 42, Outcome::kFailed, "x");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no web release 42"), std::string::npos)
      << missing.error().message;

  Create("web");
  EXPECT_FALSE(store_->FinishRelease("web", 2, Outcome::kDeploying, "").ok());

  auto r1 = store_->GetRelease("web", 1);
  ASSERT_TRUE(r1.ok() && r1->has_value());
  EXPECT_EQ((*r1)->outcome, Outcome::kSucceeded);
  EXPECT_EQ((*r1)->reason, "");
}

TEST_F(ReleaseStoreTest, FailUnfinishedDeploysMarksOnlyDeploying) {
  Create("web");  // 1: stays deploying
  Create("web");  // 2: succeeded
  Create("api");  // api 1: stays deploying
  ASSERT_TRUE(store_->FinishRelease("web", 2, Outcome::kSucceeded, "").ok());

  auto n = store_->FailUnfinishedDeploys("daemon restarted during deploy");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  auto web1 = store_->GetRelease("web", 1);
  ASSERT_TRUE(web1.ok() && web1->has_value());
  EXPECT_EQ((*web1)->outcome, Outcome::kFailed);
  EXPECT_EQ((*web1)->reason, "daemon restarted during deploy");
  EXPECT_FALSE((*web1)->finished_at.empty());
  auto web2 = store_->GetRelease("web", 2);
  ASSERT_TRUE(web2.ok() && web2->has_value());
  EXPECT_EQ((*web2)->outcome, Outcome::kSucceeded);

  auto none = store_->FailUnfinishedDeploys("again");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
}

TEST_F(ReleaseStoreTest, EventsCursorPerAppAndPerRelease) {
  auto a = store_->AppendEvent("web", 1, "replica.started", "r1");
  auto b = store_->AppendEvent("api", 1, "replica.started", "other app");
  auto c = store_->AppendEvent("web", 2, "replica.started", "r2");
  auto d = store_->AppendEvent("web", 0, "app.stopped", "no release");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_LT(*a, *b);
  EXPECT_LT(*b, *c);
  EXPECT_LT(*c, *d);

  auto all = store_->EventsSince("web", 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, *a);
  EXPECT_EQ((*all)[1].message, "r2");
  EXPECT_EQ((*all)[2].release, 0);
  EXPECT_FALSE((*all)[0].at.empty());

  auto after = store_->EventsSince("web", *a);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].id, *c);

  auto of_release = store_->EventsSince("web", 0, 2);
  ASSERT_TRUE(of_release.ok());
  ASSERT_EQ(of_release->size(), 1u);
  EXPECT_EQ((*of_release)[0].message, "r2");

  auto limited = store_->EventsSince("web", 0, 0, 2);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 2u);
  EXPECT_EQ(limited->back().id, *c);

  auto at_end = store_->EventsSince("web", *d);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->empty());

  EXPECT_FALSE(store_->EventsSince("web", 0, 0, 0).ok());
}

TEST_F(ReleaseStoreTest, CurrentReleaseAndDesiredState) {
  auto none = store_->GetApp("web");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  Create("web");
  auto app = store_->GetApp("web");
  ASSERT_TRUE(app.ok() && app->has_value());
  EXPECT_EQ((*app)->current_release, std::nullopt);
  EXPECT_EQ((*app)->desired, DesiredState::kRunning);
  EXPECT_FALSE((*app)->created_at.empty());

  ASSERT_TRUE(store_->SetCurrentRelease("web", 1).ok());
  ASSERT_TRUE(store_->SetDesiredState("web", DesiredState::kStopped).ok());
  auto apps = store_->ListApps();
  ASSERT_TRUE(apps.ok());
  ASSERT_EQ(apps->size(), 1u);
  EXPECT_EQ((*apps)[0].current_release, std::optional<int64_t>(1));
  EXPECT_EQ((*apps)[0].desired, DesiredState::kStopped);

  ASSERT_TRUE(store_->SetCurrentRelease("web", std::nullopt).ok());
  app = store_->GetApp("web");
  ASSERT_TRUE(app.ok() && app->has_value());
  EXPECT_EQ((*app)->current_release, std::nullopt);

  EXPECT_FALSE(store_->SetCurrentRelease("web", 5).ok());
  EXPECT_FALSE(store_->SetCurrentRelease("nope", std::nullopt).ok());
  EXPECT_FALSE(store_->SetDesiredState("nope", DesiredState::kRunning).ok());
}

TEST(ReleaseStoreOpen, GarbageFileIsAnError) {
  std::string tmpl = (fs::temp_directory_path() / "slipway-state-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  fs::path file = fs::path(tmpl) / "garbage.db";
  {
    std::ofstream out(file, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 7919) & 0xff));
  }
  auto store = ReleaseStore::Open(file.string());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("not a database"), std::string::npos)
      << store.error().message;
  EXPECT_NE(store.error().message.find(file.string()), std::string::npos);

  auto missing_dir = ReleaseStore::Open((fs::path(tmpl) / "no" / "such" / "dir.db").string());
  EXPECT_FALSE(missing_dir.ok());
  fs::remove_all(tmpl);
}

TEST(ReleaseStoreOpen, NewerSchemaIsRefused) {
  std::string tmpl = (fs::temp_directory_path() / "slipway-state-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  std::string path = tmpl + "/state.db";
  {
    auto store = ReleaseStore::Open(path);
    ASSERT_TRUE(store.ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = ReleaseStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("schema version 99"), std::string::npos)
      << store.error().message;
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace slipway::state
