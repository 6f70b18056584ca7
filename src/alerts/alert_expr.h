// AlertExpr: the condition of an alert rule, in a small expression language:
//
//   error_rate(5m) > 5% and requests(5m) >= 100
//   latency_p95(5m) > 1s or replica_restarts(10m) >= 3
//
// A comparison is one metric function over a window of recent time against a threshold;
// comparisons join with `and` and `or` (`and` binds tighter) and parentheses. docs/alerts.md
// has the grammar and every function. The parser reports the byte offset of a problem, so the
// spec reader can point at FILE:LINE:COL inside the YAML value.
//
// Evaluation is three-valued: a metric without data (an error rate over a window without
// requests) makes its comparison unknown, neither true nor false, and `and`/`or` follow Kleene
// logic (false and unknown = false, true or unknown = true). An unknown condition changes no
// alert's state: see AlertTracker.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slipway::alerts {

// What a metric function measures, over its window, for one app.
enum class AlertMetric {
  kRequests,         // requests to the serving release (a count)
  kErrors,           // its 5xx answers (a count)
  kErrorRate,        // errors / requests (a share, 0..1); no data without requests
  kRequestRate,      // requests per second
  kLatencyP50,       // latency quantiles in seconds; no data without requests
  kLatencyP90,       //
  kLatencyP95,       //
  kLatencyP99,       //
  kReplicaRestarts,  // unexpected exits of the app's replicas (a count)
};

// How a metric's values are written and shown.
enum class MetricUnit { kCount, kShare, kPerSecond, kSeconds };

const char* AlertMetricName(AlertMetric metric);  // "error_rate", as written in expressions
MetricUnit AlertMetricUnit(AlertMetric metric);
// The function names the language knows, in documentation order.
std::span<const std::string_view> AlertFunctionNames();
// "21.3%", "1.25s", "42", "3.5/s": a value in its metric's unit, for people.
std::string FormatMetricValue(AlertMetric metric, double value);

// The longest window of the proxy's metrics (metrics::ReleaseWindow keeps 600 one-second slots);
// replica_restarts counts stored events and may look back further.
constexpr std::chrono::seconds kMaxProxyWindow{600};
constexpr std::chrono::seconds kMaxRestartsWindow{24 * 3600};

// What the rules read about one app, for windows ending now.
class AlertInputs {
 public:
  virtual ~AlertInputs() = default;
  // The metric over the last `window`, in the units of AlertMetric; nullopt when there is no
  // data to judge by.
  virtual std::optional<double> Value(AlertMetric metric, std::chrono::seconds window) = 0;
};

enum class Truth { kFalse, kTrue, kUnknown };

enum class CompareOp { kGreater, kGreaterEqual, kLess, kLessEqual, kEqual, kNotEqual };

struct Comparison {
  AlertMetric metric = AlertMetric::kErrorRate;
  std::chrono::seconds window{300};
  CompareOp op = CompareOp::kGreater;
  double threshold = 0;  // in the metric's unit (a share, seconds, a count)
};

struct ExprResult {
  Truth truth = Truth::kUnknown;
  // The metric value of the comparison that decided the result (the first true one of a true
  // condition, else the first one with a value); nullopt when none had a value.
  std::optional<double> value;
  std::optional<AlertMetric> metric;  // the metric `value` belongs to
};

struct ExprError {
  std::size_t offset = 0;  // byte offset in the text of the token at fault
  std::string message;
  // Set when the problem is an unknown function name, so that a caller can phrase its own
  // suggestion (the spec reader's "did you mean").
  std::string unknown_function;
};

class AlertExpr {
 public:
  // One comparison (the built-in rules).
  static AlertExpr Single(const Comparison& comparison);

  bool ok() const { return !nodes_.empty(); }
  ExprResult Evaluate(AlertInputs& inputs) const;
  // Canonical text: "error_rate(5m) > 0.05 and requests(5m) >= 100" (parenthesised as needed).
  std::string ToString() const;
  // Every comparison, left to right.
  std::vector<Comparison> Comparisons() const;
  // Folds the tree bottom-up, for translators (the PromQL export): `compare` maps each
  // comparison, `join` combines the results of an `and` (is_and) or `or` node's two sides.
  // Requires ok().
  template <typename T>
  T Fold(const std::function<T(const Comparison&)>& compare,
         const std::function<T(bool is_and, T left, T right)>& join) const {
    return FoldNode<T>(root_, compare, join);
  }

 private:
  friend class ExprParser;
  struct Node {
    enum class Kind { kCompare, kAnd, kOr } kind = Kind::kCompare;
    Comparison comparison;  // kCompare
    int left = -1;          // kAnd, kOr: indexes into nodes_
    int right = -1;
  };
  ExprResult EvaluateNode(int index, AlertInputs& inputs) const;
  std::string NodeText(int index, Node::Kind parent) const;
  void CollectComparisons(int index, std::vector<Comparison>& out) const;
  template <typename T>
  T FoldNode(int index, const std::function<T(const Comparison&)>& compare,
             const std::function<T(bool, T, T)>& join) const {
    const Node& node = nodes_[static_cast<std::size_t>(index)];
    if (node.kind == Node::Kind::kCompare) return compare(node.comparison);
    T left = FoldNode<T>(node.left, compare, join);
    T right = FoldNode<T>(node.right, compare, join);
    return join(node.kind == Node::Kind::kAnd, std::move(left), std::move(right));
  }

  std::vector<Node> nodes_;
  int root_ = -1;
};

struct ParsedExpr {
  AlertExpr expr;  // ok() when error is unset
  std::optional<ExprError> error;
};

// Parses `text`; the first problem found is returned with its offset.
ParsedExpr ParseAlertExpr(std::string_view text);

}  // namespace slipway::alerts
