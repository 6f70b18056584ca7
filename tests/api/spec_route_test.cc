// GET /v1/apps/APP/spec: the serving release's spec, the newest while none serves, 404 without.
#include "api/spec_route.h"

#include <gtest/gtest.h>

#include "temp_store_fixture.h"

namespace slipway::api {
namespace {

class SpecRouteTest : public state::TempStoreTest {
 protected:
  SpecRouteTest() : TempStoreTest("slipway-spec-route-", OpenAt::kSetUp) {}

  std::int64_t Create(const std::string& yaml) {
    state::NewRelease r;
    r.app = "shop";
    r.spec_yaml = yaml;
    r.spec_file = "/srv/shop/slipway.yaml";
    r.base_dir = "/srv/shop";
    r.created_by = "alice";
    auto created = store_->CreateRelease(r);
    EXPECT_TRUE(created.ok());
    return created.ok() ? created->number : 0;
  }
};

TEST_F(SpecRouteTest, ServingReleaseElseNewest) {
  EXPECT_EQ(AppSpecResponse(*store_, "shop").status, 404);
  EXPECT_EQ(AppSpecResponse(*store_, "shop").body["error"], "no app named shop");

  Create("app: shop # 1\n");
  Create("app: shop # 2\n");
  ApiResponse newest = AppSpecResponse(*store_, "shop");
  ASSERT_EQ(newest.status, 200);
  EXPECT_EQ(newest.body["release"], 2);
  EXPECT_EQ(newest.body["serving"], false);
  EXPECT_EQ(newest.body["spec_yaml"], "app: shop # 2\n");
  EXPECT_EQ(newest.body["spec_file"], "/srv/shop/slipway.yaml");
  EXPECT_EQ(newest.body["base_dir"], "/srv/shop");

  ASSERT_TRUE(store_->SetCurrentRelease("shop", 1).ok());
  ApiResponse serving = AppSpecResponse(*store_, "shop");
  ASSERT_EQ(serving.status, 200);
  EXPECT_EQ(serving.body["release"], 1);
  EXPECT_EQ(serving.body["serving"], true);
  EXPECT_EQ(serving.body["spec_yaml"], "app: shop # 1\n");
}

}  // namespace
}  // namespace slipway::api
