// Annotations of user rules: {{ $value }} in the deciding metric's unit, {{ $labels.NAME }}, and
// anything else left as written.
#include <gtest/gtest.h>

#include "alerts/alert_rules.h"

namespace slipway::alerts {
namespace {

TEST(ExpandTemplate, ValueAndLabels) {
  const Labels labels = {{"alertname", "Slow"}, {"app", "shop"}};
  EXPECT_EQ(
      ExpandTemplate("p99 {{ $value }} on {{$labels.app}}", labels, 1.25, AlertMetric::kLatencyP99),
      "p99 1.25s on shop");
  EXPECT_EQ(ExpandTemplate("{{ $value }}", labels, 0.213, AlertMetric::kErrorRate), "21.3%");
  EXPECT_EQ(ExpandTemplate("{{ $value }}", labels, std::nullopt, AlertMetric::kErrorRate),
            "unknown");
  EXPECT_EQ(ExpandTemplate("[{{ $labels.zone }}]", labels, 1.0, std::nullopt), "[]");
}

TEST(ExpandTemplate, AnythingElseIsWrittenAsItIs) {
  const Labels labels = {{"app", "shop"}};
  EXPECT_EQ(ExpandTemplate("{{ humanize 3 }} and {{ open", labels, 1.0, std::nullopt),
            "{{ humanize 3 }} and {{ open");
  EXPECT_EQ(ExpandTemplate("a{{{ $value }}", labels, 1.0, std::nullopt), "a{{{ $value }}");
  EXPECT_EQ(ExpandTemplate("no braces", labels, 1.0, std::nullopt), "no braces");
}

TEST(ScanTemplate, LiteralRunsAndActionsInOrder) {
  std::vector<std::string> parts;
  ScanTemplate(
      "a {{ x }}b{{y}} {{ z",
      [&](std::string_view s) { parts.push_back("text:" + std::string(s)); },
      [&](const std::string& inner, std::string_view whole) {
        parts.push_back("action:" + inner + "|" + std::string(whole));
      });
  EXPECT_EQ(parts, (std::vector<std::string>{"text:a ", "action:x|{{ x }}", "text:b",
                                             "action:y|{{y}}", "text: {{ z"}));
}

}  // namespace
}  // namespace slipway::alerts
