// The alert expression language: what parses, its canonical text, where errors point, and the
// three-valued evaluation.
#include "alerts/alert_expr.h"

#include <gtest/gtest.h>

#include <map>

namespace slipway::alerts {
namespace {

using std::chrono::seconds;

// Values by (metric, window seconds); anything else has no data.
class FakeInputs : public AlertInputs {
 public:
  std::optional<double> Value(AlertMetric metric, seconds window) override {
    ++reads;
    auto it = values.find({metric, window.count()});
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::pair<AlertMetric, long>, double> values;
  int reads = 0;
};

std::string Canonical(const std::string& text) {
  ParsedExpr parsed = ParseAlertExpr(text);
  EXPECT_FALSE(parsed.error) << text << ": " << parsed.error->message;
  return parsed.expr.ToString();
}

ExprError ErrorOf(const std::string& text) {
  ParsedExpr parsed = ParseAlertExpr(text);
  EXPECT_TRUE(parsed.error.has_value()) << text << " parsed as " << parsed.expr.ToString();
  return parsed.error.value_or(ExprError{});
}

TEST(AlertExprTest, ParsesComparisonsOfEveryFunction) {
  EXPECT_EQ(Canonical("error_rate(5m) > 0.05"), "error_rate(5m) > 0.05");
  EXPECT_EQ(Canonical("error_rate(5m) > 5%"), "error_rate(5m) > 0.05");
  EXPECT_EQ(Canonical("latency_p95(5m) > 1s"), "latency_p95(5m) > 1s");
  EXPECT_EQ(Canonical("latency_p99(30s)>=250ms"), "latency_p99(30s) >= 250ms");
  EXPECT_EQ(Canonical("latency_p50(1m) < 1"), "latency_p50(1m) < 1s");
  EXPECT_EQ(Canonical("latency_p90(90s) <= 1.5s"), "latency_p90(90s) <= 1.5s");
  EXPECT_EQ(Canonical("replica_restarts(10m) >= 3"), "replica_restarts(10m) >= 3");
  EXPECT_EQ(Canonical("replica_restarts(1h) != 0"), "replica_restarts(1h) != 0");
  EXPECT_EQ(Canonical("requests(5m) == 0"), "requests(5m) == 0");
  EXPECT_EQ(Canonical("errors(1m) > 10"), "errors(1m) > 10");
  EXPECT_EQ(Canonical("request_rate(1m) > 2.5"), "request_rate(1m) > 2.5");
}

TEST(AlertExprTest, AndBindsTighterThanOr) {
  EXPECT_EQ(Canonical("errors(1m) > 1 or errors(2m) > 2 and errors(3m) > 3"),
            "errors(1m) > 1 or errors(2m) > 2 and errors(3m) > 3");
  EXPECT_EQ(Canonical("(errors(1m) > 1 or errors(2m) > 2) and errors(3m) > 3"),
            "(errors(1m) > 1 or errors(2m) > 2) and errors(3m) > 3");
  EXPECT_EQ(Canonical("((errors(1m) > 1))"), "errors(1m) > 1");
  ParsedExpr parsed = ParseAlertExpr("errors(1m) > 1 or errors(2m) > 2 and errors(3m) > 3");
  // Comparisons come out left to right whatever the tree.
  ASSERT_EQ(parsed.expr.Comparisons().size(), 3u);
  EXPECT_EQ(parsed.expr.Comparisons()[2].window, seconds(180));
}

TEST(AlertExprTest, ErrorsSayWhatIsWrongAndWhere) {
  struct Case {
    std::string text;
    std::size_t offset;
    std::string message;
  };
  const Case cases[] = {
      {"", 0, "empty expression; write a comparison such as error_rate(5m) > 5%"},
      {"error_rat(5m) > 1%", 0,
       "unknown function \"error_rat\"; functions: requests, errors, error_rate, request_rate, "
       "latency_p50, latency_p90, latency_p95, latency_p99, replica_restarts"},
      {"error_rate > 5%", 11, "error_rate needs a window in parentheses, e.g. error_rate(5m)"},
      {"error_rate(5m) 5%", 15,
       "expected a comparison operator (>, >=, <, <=, ==, !=) after error_rate(5m)"},
      {"error_rate(5m) = 5%", 15, "use == to compare for equality"},
      {"error_rate(5m) > 5", 17,
       "error_rate is a share of requests, from 0 to 1 (or 0% to 100%), not 5; did you mean 5%?"},
      {"error_rate(5m) > 1s", 17,
       "error_rate is a share of requests: write 5% or 0.05, not \"1s\""},
      {"latency_p95(5m) > 5%", 18, "latency_p95 is a duration: write 1s or 250ms, not 5%"},
      {"requests(5m) > 1m", 15, "requests is a count: expected a plain number, got \"1m\""},
      {"error_rate(20m) > 5%", 11,
       "error_rate: the window 20m is longer than 10m (the proxy keeps 600 seconds of each "
       "release's requests)"},
      {"error_rate(1500ms) > 5%", 11,
       "error_rate: the window must be a whole number of seconds, at least 1s"},
      {"error_rate(fast) > 5%", 11,
       "error_rate needs a window in parentheses, e.g. error_rate(5m)"},
      {"error_rate(5m) > 5% && requests(5m) > 1", 20, "use `and` instead of &&"},
      {"error_rate(5m) > 5% and", 23,
       "the condition ends too early; expected a comparison such as error_rate(5m) > 5%"},
      {"(error_rate(5m) > 5%", 0, "this ( is not closed"},
      {"error_rate(5m) > 5%)", 19, "this ) closes nothing"},
      {"error_rate(5m) > 5% requests(5m) > 1", 20,
       "unexpected \"requests\" after a complete condition; join comparisons with `and` or `or`"},
      {"error_rate(5m) > ", 17,
       "expected a threshold after the operator, e.g. error_rate(5m) > 5%"},
  };
  for (const Case& c : cases) {
    ExprError error = ErrorOf(c.text);
    EXPECT_EQ(error.offset, c.offset) << c.text;
    EXPECT_EQ(error.message, c.message) << c.text;
  }
  EXPECT_EQ(ErrorOf("error_rat(5m) > 1%").unknown_function, "error_rat");
  EXPECT_EQ(ErrorOf("error_rate(5m) > 5").unknown_function, "");
}

TEST(AlertExprTest, EvaluatesComparisonsAgainstTheInputs) {
  FakeInputs in;
  in.values[{AlertMetric::kErrorRate, 300}] = 0.2;
  in.values[{AlertMetric::kLatencyP95, 300}] = 0.3;
  auto eval = [&](const std::string& text) { return ParseAlertExpr(text).expr.Evaluate(in); };
  ExprResult r = eval("error_rate(5m) > 5%");
  EXPECT_EQ(r.truth, Truth::kTrue);
  EXPECT_DOUBLE_EQ(*r.value, 0.2);
  EXPECT_EQ(r.metric, AlertMetric::kErrorRate);
  EXPECT_EQ(eval("error_rate(5m) <= 5%").truth, Truth::kFalse);
  EXPECT_EQ(eval("latency_p95(5m) > 1s").truth, Truth::kFalse);
  EXPECT_EQ(eval("latency_p95(5m) > 250ms").truth, Truth::kTrue);
  // The window is part of the question: no data for 1m here.
  EXPECT_EQ(eval("error_rate(1m) > 5%").truth, Truth::kUnknown);
}

TEST(AlertExprTest, NoDataIsUnknownAndCombinesByKleeneLogic) {
  FakeInputs in;
  in.values[{AlertMetric::kErrors, 60}] = 10;
  auto eval = [&](const std::string& text) { return ParseAlertExpr(text).expr.Evaluate(in); };
  const std::string yes = "errors(1m) > 1", no = "errors(1m) > 100",
                    unknown = "error_rate(1m) > 1%";
  EXPECT_EQ(eval(unknown).truth, Truth::kUnknown);
  EXPECT_EQ(eval(yes + " and " + unknown).truth, Truth::kUnknown);
  EXPECT_EQ(eval(no + " and " + unknown).truth, Truth::kFalse);
  EXPECT_EQ(eval(unknown + " and " + no).truth, Truth::kFalse);
  EXPECT_EQ(eval(yes + " or " + unknown).truth, Truth::kTrue);
  EXPECT_EQ(eval(unknown + " or " + yes).truth, Truth::kTrue);
  EXPECT_EQ(eval(no + " or " + unknown).truth, Truth::kUnknown);
  EXPECT_EQ(eval(yes + " and " + yes).truth, Truth::kTrue);
  EXPECT_EQ(eval(no + " or " + no).truth, Truth::kFalse);
  // An unknown condition still shows the value it had.
  EXPECT_DOUBLE_EQ(*eval(unknown + " or " + no).value, 10);
}

TEST(AlertExprTest, ValueIsTheDecidingComparisons) {
  FakeInputs in;
  in.values[{AlertMetric::kErrorRate, 300}] = 0.2;
  in.values[{AlertMetric::kRequests, 300}] = 50;
  auto eval = [&](const std::string& text) { return ParseAlertExpr(text).expr.Evaluate(in); };
  // True `and`: the first comparison; false `and`: the one that failed; true `or`: the true one.
  EXPECT_DOUBLE_EQ(*eval("error_rate(5m) > 5% and requests(5m) > 10").value, 0.2);
  EXPECT_DOUBLE_EQ(*eval("error_rate(5m) > 5% and requests(5m) > 100").value, 50);
  EXPECT_DOUBLE_EQ(*eval("requests(5m) > 100 or error_rate(5m) > 5%").value, 0.2);
}

TEST(AlertExprTest, FormatsValuesInTheirUnits) {
  EXPECT_EQ(FormatMetricValue(AlertMetric::kErrorRate, 0.2134), "21.3%");
  EXPECT_EQ(FormatMetricValue(AlertMetric::kLatencyP95, 0.0125), "12.5ms");
  EXPECT_EQ(FormatMetricValue(AlertMetric::kLatencyP95, 1.25), "1.25s");
  EXPECT_EQ(FormatMetricValue(AlertMetric::kRequests, 42), "42");
  EXPECT_EQ(FormatMetricValue(AlertMetric::kRequestRate, 3.5), "3.5/s");
}

TEST(AlertExprTest, SingleBuildsOneComparison) {
  AlertExpr expr = AlertExpr::Single(Comparison{.metric = AlertMetric::kReplicaRestarts,
                                                .window = seconds(600),
                                                .op = CompareOp::kGreaterEqual,
                                                .threshold = 3});
  EXPECT_EQ(expr.ToString(), "replica_restarts(10m) >= 3");
  FakeInputs in;
  in.values[{AlertMetric::kReplicaRestarts, 600}] = 3;
  EXPECT_EQ(expr.Evaluate(in).truth, Truth::kTrue);
}

}  // namespace
}  // namespace slipway::alerts
