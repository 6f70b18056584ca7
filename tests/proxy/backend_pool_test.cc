#include "proxy/backend_pool.h"

#include <gtest/gtest.h>

namespace slipway::proxy {
namespace {

TEST(BackendPool, StartsEmptyAndPublishesSnapshots) {
  BackendPool pool;
  auto empty = pool.Snapshot();
  ASSERT_NE(empty, nullptr);
  EXPECT_TRUE(empty->stable.empty());
  EXPECT_FALSE(empty->active());

  auto a = std::make_shared<Backend>();
  a->id = "a";
  pool.Publish({a});
  auto one = pool.Snapshot();
  ASSERT_EQ(one->stable.size(), 1u);
  EXPECT_EQ(one->stable[0]->id, "a");
  EXPECT_TRUE(empty->stable.empty());  // an old snapshot is immutable

  pool.Publish({});
  EXPECT_TRUE(pool.Snapshot()->stable.empty());
  EXPECT_EQ(one->stable.size(), 1u);
}

TEST(BackendPool, PublishSplitCarriesTheCanaryAndPublishEndsIt) {
  BackendPool pool;
  auto stable = std::make_shared<Backend>();
  stable->release = 3;
  auto canary = std::make_shared<Backend>();
  canary->release = 4;
  pool.PublishSplit({.stable = {stable},
                     .canary = {canary},
                     .canary_release = 4,
                     .canary_weight = 10,
                     .header = "X-Canary",
                     .sticky_cookie = "slipway-release"});
  auto split = pool.Snapshot();
  EXPECT_TRUE(split->active());
  EXPECT_EQ(split->canary_release, 4);
  EXPECT_EQ(split->canary_weight, 10);
  ASSERT_EQ(split->canary.size(), 1u);
  EXPECT_EQ(split->canary[0], canary);

  pool.Publish({stable});  // back to one release: no canary, no routing rules
  auto plain = pool.Snapshot();
  EXPECT_FALSE(plain->active());
  EXPECT_TRUE(plain->header.empty());
  EXPECT_TRUE(plain->sticky_cookie.empty());
  EXPECT_EQ(plain->stable.size(), 1u);
  EXPECT_TRUE(split->active());  // the old snapshot is unchanged
}

}  // namespace
}  // namespace slipway::proxy
