// ExpositionWriter: the 0.0.4 text format: HELP and TYPE once per family, samples grouped,
// label escaping, histogram series, value formatting.
#include "metrics/exposition.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>

namespace slipway::metrics {
namespace {

TEST(ExpositionWriter, WritesCountersAndGaugesWithHelpAndType) {
  ExpositionWriter w;
  w.Counter("slipway_things_total", "Things seen.", {{"app", "hello"}, {"code", "2xx"}},
            std::uint64_t{42});
  w.Gauge("slipway_ready", "1 when ready.", {}, std::int64_t{1});
  EXPECT_EQ(w.Text(),
            "# HELP slipway_things_total Things seen.\n"
            "# TYPE slipway_things_total counter\n"
            "slipway_things_total{app=\"hello\",code=\"2xx\"} 42\n"
            "# HELP slipway_ready 1 when ready.\n"
            "# TYPE slipway_ready gauge\n"
            "slipway_ready 1\n");
}

TEST(ExpositionWriter, GroupsInterleavedSamplesUnderOneFamily) {
  ExpositionWriter w;
  w.Counter("a_total", "A.", {{"app", "x"}}, std::uint64_t{1});
  w.Gauge("b", "B.", {{"app", "x"}}, std::int64_t{2});
  w.Counter("a_total", "ignored: the first help wins", {{"app", "y"}}, std::uint64_t{3});
  w.Gauge("b", "B.", {{"app", "y"}}, std::int64_t{4});
  EXPECT_EQ(w.Text(),
            "# HELP a_total A.\n# TYPE a_total counter\n"
            "a_total{app=\"x\"} 1\na_total{app=\"y\"} 3\n"
            "# HELP b B.\n# TYPE b gauge\n"
            "b{app=\"x\"} 2\nb{app=\"y\"} 4\n");
}

TEST(ExpositionWriter, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(ExpositionWriter::EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(ExpositionWriter::EscapeLabelValue("plain-ünïcode"), "plain-ünïcode");
  ExpositionWriter w;
  w.Gauge("g", "Line one\nback\\slash \"quoted\".", {{"path", "C:\\x \"y\"\n"}}, 0.5);
  EXPECT_EQ(w.Text(),
            "# HELP g Line one\\nback\\\\slash \"quoted\".\n# TYPE g gauge\n"
            "g{path=\"C:\\\\x \\\"y\\\"\\n\"} 0.5\n");
}

TEST(ExpositionWriter, WritesCumulativeHistogramBuckets) {
  ExpositionWriter w;
  const std::array<double, 3> bounds = {0.005, 0.25, 1};
  const std::array<std::uint64_t, 4> counts = {2, 0, 3, 1};  // 1 above the last bound
  w.Histogram("d_seconds", "Durations.", {{"app", "hello"}}, bounds, counts, 2.75);
  EXPECT_EQ(w.Text(),
            "# HELP d_seconds Durations.\n# TYPE d_seconds histogram\n"
            "d_seconds_bucket{app=\"hello\",le=\"0.005\"} 2\n"
            "d_seconds_bucket{app=\"hello\",le=\"0.25\"} 2\n"
            "d_seconds_bucket{app=\"hello\",le=\"1\"} 5\n"
            "d_seconds_bucket{app=\"hello\",le=\"+Inf\"} 6\n"
            "d_seconds_sum{app=\"hello\"} 2.75\n"
            "d_seconds_count{app=\"hello\"} 6\n");
}

TEST(ExpositionWriter, FormatsSpecialAndLargeValues) {
  EXPECT_EQ(ExpositionWriter::FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(ExpositionWriter::FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(ExpositionWriter::FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(ExpositionWriter::FormatValue(0.1), "0.1");
  EXPECT_EQ(ExpositionWriter::FormatValue(3), "3");
  EXPECT_EQ(std::stod(ExpositionWriter::FormatValue(1.0 / 3)), 1.0 / 3);  // round-trips
  ExpositionWriter w;
  // Integers are exact past 2^53, where a double would round.
  w.Counter("big_total", "Big.", {}, std::uint64_t{18446744073709551615u});
  EXPECT_EQ(w.Text(),
            "# HELP big_total Big.\n# TYPE big_total counter\nbig_total 18446744073709551615\n");
}

TEST(ExpositionWriter, EmptyWriterWritesNothing) { EXPECT_EQ(ExpositionWriter().Text(), ""); }

}  // namespace
}  // namespace slipway::metrics
