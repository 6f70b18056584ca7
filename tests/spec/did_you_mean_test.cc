#include "spec/did_you_mean.h"

#include <gtest/gtest.h>

namespace slipway::spec {
namespace {

constexpr std::string_view kKeys[] = {"replicas", "readiness", "user", "env", "args"};

TEST(EditDistanceTest, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("replicas", "replicas"), 0u);
  EXPECT_EQ(EditDistance("replcas", "replicas"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("replciase", "replicas"), 3u);
}

TEST(DidYouMeanTest, SuggestsCloseNames) {
  EXPECT_EQ(DidYouMean("replcas", kKeys), "replicas");
  EXPECT_EQ(DidYouMean("replicsa", kKeys), "replicas");
  EXPECT_EQ(DidYouMean("Replicas", kKeys), "replicas");
  EXPECT_EQ(DidYouMean("usr", kKeys), "user");
}

TEST(DidYouMeanTest, StaysQuietForUnrelatedNames) {
  EXPECT_EQ(DidYouMean("memory", kKeys), std::nullopt);
  // Short words allow only one edit: "ag" is two away from "args".
  EXPECT_EQ(DidYouMean("ag", kKeys), std::nullopt);
}

TEST(JoinNamesTest, SeparatesWithCommas) {
  EXPECT_EQ(JoinNames(kKeys), "replicas, readiness, user, env, args");
}

}  // namespace
}  // namespace slipway::spec
