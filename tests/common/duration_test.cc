#include "common/duration.h"

#include <gtest/gtest.h>

namespace slipway {
namespace {

TEST(ParseDuration, AcceptsUnitsAndCompounds) {
  EXPECT_EQ(ParseDuration("250ms"), Millis(250));
  EXPECT_EQ(ParseDuration("10s"), Millis(10'000));
  EXPECT_EQ(ParseDuration("1.5s"), Millis(1'500));
  EXPECT_EQ(ParseDuration("2m"), Millis(120'000));
  EXPECT_EQ(ParseDuration("1h30m"), Millis(5'400'000));
  EXPECT_EQ(ParseDuration("7"), Millis(7'000));
}

TEST(ParseDuration, DaysAndWeeksAre24And168Hours) {
  EXPECT_EQ(ParseDuration("1d"), Millis(86'400'000));
  EXPECT_EQ(ParseDuration("30d"), Millis(30LL * 86'400'000));
  EXPECT_EQ(ParseDuration("1d12h"), Millis(36LL * 3'600'000));
  EXPECT_EQ(ParseDuration("0.5d"), Millis(12LL * 3'600'000));
  EXPECT_EQ(ParseDuration("2w"), Millis(14LL * 86'400'000));
  EXPECT_FALSE(ParseDuration("d"));
  EXPECT_FALSE(ParseDuration("5D"));
  EXPECT_FALSE(ParseDuration("5days"));
  EXPECT_FALSE(ParseDuration("5y"));
}

TEST(ParseDuration, RejectsGarbage) {
  EXPECT_FALSE(ParseDuration(""));
  EXPECT_FALSE(ParseDuration("ten seconds"));
  EXPECT_FALSE(ParseDuration("10 s"));
  EXPECT_FALSE(ParseDuration("5x"));
  EXPECT_FALSE(ParseDuration("-3s"));
  EXPECT_FALSE(ParseDuration("1s5"));
}

TEST(FormatDuration, RoundTrips) {
  for (const char* text : {"250ms", "10s", "1.5s", "2m", "1h"}) {
    auto d = ParseDuration(text);
    ASSERT_TRUE(d) << text;
    EXPECT_EQ(FormatDuration(*d), text);
  }
}

TEST(ParseByteSize, DecimalAndBinarySuffixes) {
  EXPECT_EQ(ParseByteSize("4096"), 4096u);
  EXPECT_EQ(ParseByteSize("256Mi"), 256ull << 20);
  EXPECT_EQ(ParseByteSize("1G"), 1000'000'000ull);
  EXPECT_FALSE(ParseByteSize("12Q"));
  EXPECT_FALSE(ParseByteSize("Mi"));
  EXPECT_FALSE(ParseByteSize("99999999999999999999Gi"));
}

}  // namespace
}  // namespace slipway
