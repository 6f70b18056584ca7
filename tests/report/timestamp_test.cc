#include "report/timestamp.h"

#include <gtest/gtest.h>

namespace slipway::report {
namespace {

constexpr std::int64_t kNov24 = 1795543267123;  // 2026-11-24T18:01:07.123Z (date -d ... +%s%3N)

TEST(ParseTimestampMs, ReadsTheStoresForm) {
  EXPECT_EQ(ParseTimestampMs("2026-11-24T18:01:07.123Z"), kNov24);
  EXPECT_EQ(ParseTimestampMs("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_EQ(ParseTimestampMs("1970-01-01T00:00:01Z"), 1000);
}

TEST(ParseTimestampMs, FractionsOfAnyLengthAreTruncatedToMilliseconds) {
  EXPECT_EQ(ParseTimestampMs("2026-11-24T18:01:07.1Z"), kNov24 - 23);
  EXPECT_EQ(ParseTimestampMs("2026-11-24T18:01:07.123999999Z"), kNov24);
  EXPECT_EQ(ParseTimestampMs("2026-11-24T18:01:07Z"), kNov24 - 123);
}

TEST(ParseTimestampMs, OffsetsAndLowerCase) {
  EXPECT_EQ(ParseTimestampMs("2026-11-24T19:31:07.123+01:30"), kNov24);
  EXPECT_EQ(ParseTimestampMs("2026-11-24T13:01:07.123-05:00"), kNov24);
  EXPECT_EQ(ParseTimestampMs("2026-11-24t18:01:07.123z"), kNov24);
  // The offset moves the date too.
  EXPECT_EQ(ParseTimestampMs("2026-11-25T00:01:07.123+06:00"), kNov24);
}

TEST(ParseTimestampMs, LeapYearsAndLeapSeconds) {
  EXPECT_TRUE(ParseTimestampMs("2028-02-29T00:00:00Z"));
  EXPECT_TRUE(ParseTimestampMs("2000-02-29T00:00:00Z"));
  EXPECT_FALSE(ParseTimestampMs("2027-02-29T00:00:00Z"));
  EXPECT_FALSE(ParseTimestampMs("2100-02-29T00:00:00Z"));
  EXPECT_EQ(ParseTimestampMs("2016-12-31T23:59:60Z"), ParseTimestampMs("2017-01-01T00:00:00Z"));
}

TEST(ParseTimestampMs, RejectsWhatIsNotADateTime) {
  for (const char* bad :
       {"", "2026-11-24", "2026-11-24T18:01:07", "2026-11-24 18:01:07Z", "2026-13-01T00:00:00Z",
        "2026-04-31T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T18:60:00Z",
        "2026-11-24T18:01:61Z", "2026-11-24T18:01:07.Z", "2026-11-24T18:01:07.123ZZ",
        "2026-11-24T18:01:07+0100", "2026-11-24T18:01:07+24:00", "26-11-24T18:01:07Z",
        "2026-1-24T18:01:07Z", "2026-11-24T18:01:07.123Z ", "now"}) {
    EXPECT_FALSE(ParseTimestampMs(bad)) << bad;
  }
}

TEST(FormatTimestampMs, IsTheStoresFormAndRoundTrips) {
  EXPECT_EQ(FormatTimestampMs(kNov24), "2026-11-24T18:01:07.123Z");
  EXPECT_EQ(FormatTimestampMs(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTimestampMs(-1), "1969-12-31T23:59:59.999Z");
  for (std::int64_t ms : {kNov24, std::int64_t{-1}, std::int64_t{951782400000}}) {
    EXPECT_EQ(ParseTimestampMs(FormatTimestampMs(ms)), ms);
  }
}

}  // namespace
}  // namespace slipway::report
