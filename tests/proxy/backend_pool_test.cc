#include "proxy/backend_pool.h"

#include <gtest/gtest.h>

namespace slipway::proxy {
namespace {

TEST(BackendPool, StartsEmptyAndPublishesSnapshots) {
  BackendPool pool;
  auto empty = pool.Snapshot();
  ASSERT_NE(empty, nullptr);
  EXPECT_TRUE(empty->empty());

  auto a = std::make_shared<Backend>();
  a->id = "a";
  pool.Publish({a});
  auto one = pool.Snapshot();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0]->id, "a");
  EXPECT_TRUE(empty->empty());  // an old snapshot is immutable

  pool.Publish({});
  EXPECT_TRUE(pool.Snapshot()->empty());
  EXPECT_EQ(one->size(), 1u);
}

}  // namespace
}  // namespace slipway::proxy
