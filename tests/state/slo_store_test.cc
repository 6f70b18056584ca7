// The SLO side of the store: per-minute rows round trip and are rewritten while their minute
// is current, pruning, the schema's checks, and the v3 -> v4 migration of an existing file.
#include "state/slo_store.h"

#include <gtest/gtest.h>

#include "temp_store_fixture.h"

namespace slipway::state {
namespace {

class SloStoreTest : public TempStoreTest {
 protected:
  SloStoreTest() : TempStoreTest("slipway-slo-store-", OpenAt::kSetUp) {}

  // Closes the store and opens the file again (a daemon restart).
  void Reopen() {
    store_.reset();
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
  }
  static SloMinuteRecord Row(const std::string& app, int64_t minute, int64_t requests) {
    return {.app = app,
            .minute = minute,
            .requests = requests,
            .errors = requests / 10,
            .slow = requests / 20,
            .sampled_seconds = 60,
            .down_seconds = 2};
  }
};

TEST_F(SloStoreTest, MinutesRoundTripAndTheCurrentOneIsRewritten) {
  SloStore slo(*store_);
  ASSERT_TRUE(slo.SaveMinutes({Row("web", 100, 40), Row("web", 101, 10), Row("api", 101, 7)}).ok());
  ASSERT_TRUE(slo.SaveMinutes({Row("web", 101, 30)}).ok());  // minute 101 filled up meanwhile
  Reopen();
  SloStore again(*store_);
  auto rows = again.MinutesSince(101);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].app, "api");
  EXPECT_EQ((*rows)[1].app, "web");
  EXPECT_EQ((*rows)[1].minute, 101);
  EXPECT_EQ((*rows)[1].requests, 30);
  EXPECT_EQ((*rows)[1].errors, 3);
  EXPECT_EQ((*rows)[1].slow, 1);
  EXPECT_EQ((*rows)[1].sampled_seconds, 60);
  EXPECT_EQ((*rows)[1].down_seconds, 2);
  EXPECT_EQ(again.MinutesSince(0)->size(), 3u);
}

TEST_F(SloStoreTest, PruneDeletesOnlyOlderMinutes) {
  SloStore slo(*store_);
  ASSERT_TRUE(slo.SaveMinutes({Row("web", 10, 1), Row("web", 11, 1), Row("web", 12, 1)}).ok());
  auto pruned = slo.PruneBefore(12);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 2);
  auto rows = slo.MinutesSince(0);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].minute, 12);
  EXPECT_EQ(*slo.PruneBefore(12), 0);
}

TEST_F(SloStoreTest, TheSchemaRefusesImpossibleMinutes) {
  SloStore slo(*store_);
  SloMinuteRecord bad = Row("web", 1, 10);
  bad.sampled_seconds = 61;
  EXPECT_FALSE(slo.SaveMinutes({Row("web", 0, 5), bad}).ok());
  EXPECT_TRUE(slo.MinutesSince(0)->empty()) << "one transaction: nothing of a failed save stays";
  bad = Row("web", 1, 10);
  bad.down_seconds = 61;
  EXPECT_FALSE(slo.SaveMinutes({bad}).ok());
  bad = Row("web", 1, -1);
  EXPECT_FALSE(slo.SaveMinutes({bad}).ok());
}

// A state file written by a slipway with schema v3 (alerts, no SLOs) keeps what it had and gets
// the slo_minutes table.
TEST_F(SloStoreTest, MigratesAVersion3StateFile) {
  NewRelease release;
  release.app = "web";
  release.spec_yaml = "app: web\n";
  release.spec_file = "slipway.yaml";
  release.base_dir = "/srv";
  release.created_by = "alice";
  ASSERT_TRUE(store_->CreateRelease(release).ok());
  store_.reset();
  // v3 is v4 without the SLO table (and its index).
  ASSERT_EQ(RawSql("DROP TABLE slo_minutes; DROP TRIGGER releases_image_once; "
                   "ALTER TABLE releases DROP COLUMN image_id; PRAGMA user_version = 3;"),
            "");
  ASSERT_NE(RawSql("SELECT * FROM slo_minutes"), "");
  Reopen();
  EXPECT_EQ(store_->ListReleases("web")->size(), 1u);
  SloStore slo(*store_);
  ASSERT_TRUE(slo.SaveMinutes({Row("web", 5, 9)}).ok());
  EXPECT_EQ(slo.MinutesSince(0)->size(), 1u);
  EXPECT_EQ(RawSql("SELECT * FROM slo_minutes"), "");
}

}  // namespace
}  // namespace slipway::state
