// The pure pieces of traffic splitting: the weight spreader, cookie parsing, the group rules.
#include "proxy/traffic_split.h"

#include <gtest/gtest.h>

namespace slipway::proxy {
namespace {

int CanaryShare(WeightSpreader& spreader, int weight, int requests) {
  int canary = 0;
  for (int i = 0; i < requests; ++i) canary += spreader.NextIsCanary(weight) ? 1 : 0;
  return canary;
}

TEST(WeightSpreader, GivesTheCanaryItsWeightWithinOneRequest) {
  for (int weight = 0; weight <= 100; ++weight) {
    WeightSpreader spreader;
    for (int n : {1, 7, 100, 1000}) {
      const int canary = CanaryShare(spreader, weight, n);
      EXPECT_GE(canary, n * weight / 100 - 1) << "weight " << weight << " over " << n;
      EXPECT_LE(canary, n * weight / 100 + 1) << "weight " << weight << " over " << n;
    }
  }
}

TEST(WeightSpreader, ZeroIsNeverAndHundredIsAlways) {
  WeightSpreader spreader;
  EXPECT_EQ(CanaryShare(spreader, 0, 1000), 0);
  EXPECT_EQ(CanaryShare(spreader, 100, 1000), 1000);
  EXPECT_EQ(CanaryShare(spreader, -5, 10), 0);  // clamped
  EXPECT_EQ(CanaryShare(spreader, 250, 10), 10);
}

TEST(WeightSpreader, SpreadsEvenlyRatherThanInRuns) {
  WeightSpreader spreader;
  // Weight 25: exactly one canary in every four consecutive requests.
  for (int block = 0; block < 50; ++block) EXPECT_EQ(CanaryShare(spreader, 25, 4), 1);
}

TEST(WeightSpreader, AWeightChangeTakesEffectAtOnce) {
  WeightSpreader spreader;
  EXPECT_EQ(CanaryShare(spreader, 10, 95), 9);
  EXPECT_NEAR(CanaryShare(spreader, 50, 1000), 500, 1);
}

TEST(FindCookieRelease, FindsTheNamedCookieAmongOthers) {
  EXPECT_EQ(FindCookieRelease("slipway=7", "slipway"), 7);
  EXPECT_EQ(FindCookieRelease("a=1; slipway=42; b=x", "slipway"), 42);
  EXPECT_EQ(FindCookieRelease("a=1;slipway=42", "slipway"), 42);
  EXPECT_EQ(FindCookieRelease("  slipway = 9 ;", "slipway"), 9);
  EXPECT_EQ(FindCookieRelease("slipway=\"12\"", "slipway"), 12);
  EXPECT_EQ(FindCookieRelease("slipway=bad; slipway=3", "slipway"), 3);  // another path's one
}

TEST(FindCookieRelease, AbsentOrMalformedIsNothing) {
  EXPECT_EQ(FindCookieRelease("", "slipway"), std::nullopt);
  EXPECT_EQ(FindCookieRelease("other=7", "slipway"), std::nullopt);
  EXPECT_EQ(FindCookieRelease("xslipway=7; slipwayx=8", "slipway"), std::nullopt);
  EXPECT_EQ(FindCookieRelease("Slipway=7", "slipway"), std::nullopt);  // names are exact
  EXPECT_EQ(FindCookieRelease("slipway=", "slipway"), std::nullopt);
  EXPECT_EQ(FindCookieRelease("slipway", "slipway"), std::nullopt);
  EXPECT_EQ(FindCookieRelease("slipway=-3", "slipway"), std::nullopt);
  EXPECT_EQ(FindCookieRelease("slipway=+3", "slipway"), std::nullopt);
  EXPECT_EQ(FindCookieRelease("slipway=3x", "slipway"), std::nullopt);
  EXPECT_EQ(FindCookieRelease("slipway=1 2", "slipway"), std::nullopt);
  EXPECT_EQ(FindCookieRelease("slipway=99999999999999999999", "slipway"), std::nullopt);
  EXPECT_EQ(FindCookieRelease("slipway=\"\"", "slipway"), std::nullopt);
}

TEST(FormatStickyCookie, NamesTheReleaseForTheWholeSite) {
  std::string out = "left over";
  FormatStickyCookie("slipway-release", 12, out);
  EXPECT_EQ(out, "slipway-release=12; Path=/; HttpOnly; SameSite=Lax");
  FormatStickyCookie("r", 3, out);
  EXPECT_EQ(out, "r=3; Path=/; HttpOnly; SameSite=Lax");
}

std::shared_ptr<Backend> BackendOf(std::int64_t release) {
  auto b = std::make_shared<Backend>();
  b->release = release;
  return b;
}

TrafficSplit Split(int weight) {
  return {.stable = {BackendOf(1), BackendOf(1)},
          .canary = {BackendOf(2)},
          .canary_release = 2,
          .canary_weight = weight,
          .header = "X-Canary",
          .sticky_cookie = "slipway"};
}

TEST(ChooseGroup, HeaderComesFirstAndIsNotSticky) {
  WeightSpreader spreader;
  const TrafficSplit split = Split(0);
  RouteDecision always = ChooseGroup(split, {.header = "always", .cookie_release = 1}, spreader);
  EXPECT_EQ(always.group, ReleaseGroup::kCanary);
  EXPECT_FALSE(always.sticky);
  EXPECT_EQ(ChooseGroup(Split(100), {.header = "NEVER"}, spreader).group, ReleaseGroup::kStable);
  // Another value is no routing: the weight decides.
  EXPECT_EQ(ChooseGroup(Split(100), {.header = "sometimes"}, spreader).group,
            ReleaseGroup::kCanary);
  TrafficSplit no_header = Split(0);
  no_header.header.clear();
  EXPECT_EQ(ChooseGroup(no_header, {.header = "always"}, spreader).group, ReleaseGroup::kStable);
}

TEST(ChooseGroup, CookieNamingAServedReleaseIsHonoured) {
  WeightSpreader spreader;
  RouteDecision canary = ChooseGroup(Split(0), {.cookie_release = 2}, spreader);
  EXPECT_EQ(canary.group, ReleaseGroup::kCanary);
  EXPECT_TRUE(canary.sticky);
  EXPECT_EQ(ChooseGroup(Split(100), {.cookie_release = 1}, spreader).group, ReleaseGroup::kStable);
  // A release nobody serves any more: chosen again by weight.
  EXPECT_EQ(ChooseGroup(Split(100), {.cookie_release = 7}, spreader).group, ReleaseGroup::kCanary);
  EXPECT_EQ(ChooseGroup(Split(0), {.cookie_release = 7}, spreader).group, ReleaseGroup::kStable);
  TrafficSplit no_cookie = Split(0);
  no_cookie.sticky_cookie.clear();
  EXPECT_EQ(ChooseGroup(no_cookie, {.cookie_release = 2}, spreader).group, ReleaseGroup::kStable);
}

TEST(ChooseGroup, CookieAndHeaderRequestsDoNotMoveTheWeight) {
  WeightSpreader spreader;
  const TrafficSplit split = Split(50);
  for (int i = 0; i < 7; ++i) {
    ChooseGroup(split, {.header = "always"}, spreader);
    ChooseGroup(split, {.cookie_release = 1}, spreader);
  }
  // The spreader is where it started: weight 50 alternates stable, canary.
  EXPECT_EQ(ChooseGroup(split, {}, spreader).group, ReleaseGroup::kStable);
  EXPECT_EQ(ChooseGroup(split, {}, spreader).group, ReleaseGroup::kCanary);
}

TEST(ChooseGroup, NoCanaryIsAlwaysStable) {
  WeightSpreader spreader;
  TrafficSplit split = Split(100);
  split.canary.clear();
  EXPECT_EQ(ChooseGroup(split, {}, spreader).group, ReleaseGroup::kStable);
  EXPECT_EQ(ChooseGroup(split, {.cookie_release = 2}, spreader).group, ReleaseGroup::kStable);
}

}  // namespace
}  // namespace slipway::proxy
