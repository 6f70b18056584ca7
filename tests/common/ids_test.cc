#include "common/ids.h"

#include <set>

#include <gtest/gtest.h>

namespace slipway {
namespace {

TEST(RequestId, NewIdsAreValidAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewRequestId();
    EXPECT_EQ(id.size(), 32u);
    EXPECT_TRUE(IsValidRequestId(id));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RequestId, RejectsHostileIncomingIds) {
  EXPECT_TRUE(IsValidRequestId("abc-123_X.y:z"));
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId("has space"));
  EXPECT_FALSE(IsValidRequestId("line\r\nInjected: 1"));
  EXPECT_FALSE(IsValidRequestId(std::string(129, 'a')));
}

}  // namespace
}  // namespace slipway
