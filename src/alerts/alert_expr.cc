#include "alerts/alert_expr.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "common/duration.h"

namespace slipway::alerts {
namespace {

struct FunctionInfo {
  std::string_view name;
  AlertMetric metric;
  MetricUnit unit;
};

// Documentation order; docs/alerts.md lists the same.
constexpr FunctionInfo kFunctions[] = {
    {"requests", AlertMetric::kRequests, MetricUnit::kCount},
    {"errors", AlertMetric::kErrors, MetricUnit::kCount},
    {"error_rate", AlertMetric::kErrorRate, MetricUnit::kShare},
    {"request_rate", AlertMetric::kRequestRate, MetricUnit::kPerSecond},
    {"latency_p50", AlertMetric::kLatencyP50, MetricUnit::kSeconds},
    {"latency_p90", AlertMetric::kLatencyP90, MetricUnit::kSeconds},
    {"latency_p95", AlertMetric::kLatencyP95, MetricUnit::kSeconds},
    {"latency_p99", AlertMetric::kLatencyP99, MetricUnit::kSeconds},
    {"replica_restarts", AlertMetric::kReplicaRestarts, MetricUnit::kCount},
};

constexpr std::string_view kFunctionNames[] = {"requests",     "errors",      "error_rate",
                                               "request_rate", "latency_p50", "latency_p90",
                                               "latency_p95",  "latency_p99", "replica_restarts"};
static_assert(std::size(kFunctionNames) == std::size(kFunctions));

const FunctionInfo* FindFunction(std::string_view name) {
  for (const FunctionInfo& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const FunctionInfo& InfoOf(AlertMetric metric) {
  for (const FunctionInfo& f : kFunctions) {
    if (f.metric == metric) return f;
  }
  return kFunctions[0];
}

const char* OpText(CompareOp op) {
  switch (op) {
    case CompareOp::kGreater:
      return ">";
    case CompareOp::kGreaterEqual:
      return ">=";
    case CompareOp::kLess:
      return "<";
    case CompareOp::kLessEqual:
      return "<=";
    case CompareOp::kEqual:
      return "==";
    case CompareOp::kNotEqual:
      return "!=";
  }
  return "?";
}

bool Compare(double value, CompareOp op, double threshold) {
  switch (op) {
    case CompareOp::kGreater:
      return value > threshold;
    case CompareOp::kGreaterEqual:
      return value >= threshold;
    case CompareOp::kLess:
      return value < threshold;
    case CompareOp::kLessEqual:
      return value <= threshold;
    case CompareOp::kEqual:
      return value == threshold;
    case CompareOp::kNotEqual:
      return value != threshold;
  }
  return false;
}

// The shortest decimal that reads back as `value` (for canonical text): 10, 0.05, 2.5.
std::string ShortNumber(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

std::string SecondsText(double seconds) {
  const double ms = seconds * 1000;
  if (ms >= 1 && std::floor(ms) == ms) {
    return FormatDuration(Millis(static_cast<std::int64_t>(ms)));
  }
  return ShortNumber(seconds) + "s";
}

std::string ThresholdText(AlertMetric metric, double threshold) {
  if (AlertMetricUnit(metric) == MetricUnit::kSeconds) return SecondsText(threshold);
  return ShortNumber(threshold);
}

std::string WindowText(std::chrono::seconds window) {
  return FormatDuration(std::chrono::duration_cast<Millis>(window));
}

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

struct Token {
  enum class Kind { kEnd, kIdent, kNumber, kLParen, kRParen, kOp, kOther } kind = Kind::kEnd;
  std::string_view text;
  std::size_t offset = 0;
  CompareOp op = CompareOp::kGreater;
};

// Thrown inside the parser only; ParseAlertExpr turns it into an ExprError.
struct ParseFailure {
  ExprError error;
};

[[noreturn]] void Fail(std::size_t offset, std::string message, std::string unknown = {}) {
  throw ParseFailure{ExprError{offset, std::move(message), std::move(unknown)}};
}

}  // namespace

const char* AlertMetricName(AlertMetric metric) { return InfoOf(metric).name.data(); }

MetricUnit AlertMetricUnit(AlertMetric metric) { return InfoOf(metric).unit; }

std::span<const std::string_view> AlertFunctionNames() { return kFunctionNames; }

std::string FormatMetricValue(AlertMetric metric, double value) {
  char buffer[48];
  switch (AlertMetricUnit(metric)) {
    case MetricUnit::kShare:
      std::snprintf(buffer, sizeof buffer, "%.1f%%", value * 100);
      return buffer;
    case MetricUnit::kSeconds:
      if (value < 1) {
        std::snprintf(buffer, sizeof buffer, "%.1fms", value * 1000);
      } else {
        std::snprintf(buffer, sizeof buffer, "%.3gs", value);
      }
      return buffer;
    case MetricUnit::kPerSecond:
      std::snprintf(buffer, sizeof buffer, "%.3g/s", value);
      return buffer;
    case MetricUnit::kCount:
      break;
  }
  return ShortNumber(value);
}

class ExprParser {
 public:
  explicit ExprParser(std::string_view text) : text_(text) { Advance(); }

  AlertExpr Parse() {
    if (token_.kind == Token::Kind::kEnd) {
      Fail(0, "empty expression; write a comparison such as error_rate(5m) > 5%");
    }
    expr_.root_ = ParseOr();
    if (token_.kind == Token::Kind::kRParen) {
      Fail(token_.offset, "this ) closes nothing");
    }
    if (token_.kind != Token::Kind::kEnd) {
      Fail(token_.offset, "unexpected \"" + std::string(token_.text) +
                              "\" after a complete condition; join comparisons with `and` or "
                              "`or`");
    }
    return std::move(expr_);
  }

 private:
  void Advance() {
    std::size_t i = pos_;
    while (i < text_.size() &&
           (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r')) {
      ++i;
    }
    token_ = Token{};
    token_.offset = i;
    if (i >= text_.size()) {
      token_.kind = Token::Kind::kEnd;
      pos_ = i;
      return;
    }
    const char c = text_[i];
    std::size_t end = i + 1;
    if (IsIdentStart(c)) {
      while (end < text_.size() && IsIdentChar(text_[end])) ++end;
      token_.kind = Token::Kind::kIdent;
    } else if (IsDigit(c) || c == '.') {
      // A number with whatever unit follows it: 5, 0.05, 5%, 250ms, 1h30m.
      while (end < text_.size() &&
             (IsIdentChar(text_[end]) || text_[end] == '.' || text_[end] == '%')) {
        ++end;
      }
      token_.kind = Token::Kind::kNumber;
    } else if (c == '(') {
      token_.kind = Token::Kind::kLParen;
    } else if (c == ')') {
      token_.kind = Token::Kind::kRParen;
    } else if (c == '>' || c == '<' || c == '=' || c == '!') {
      const bool eq = end < text_.size() && text_[end] == '=';
      if (eq) ++end;
      token_.kind = Token::Kind::kOp;
      if (c == '>') token_.op = eq ? CompareOp::kGreaterEqual : CompareOp::kGreater;
      if (c == '<') token_.op = eq ? CompareOp::kLessEqual : CompareOp::kLess;
      if (c == '=') {
        if (!eq) Fail(i, "use == to compare for equality");
        token_.op = CompareOp::kEqual;
      }
      if (c == '!') {
        if (!eq)
          Fail(i,
               "unexpected \"!\"; `not` is not part of the language, invert the "
               "comparison instead (error_rate(5m) <= 5%)");
        token_.op = CompareOp::kNotEqual;
      }
    } else {
      if ((c == '&' || c == '|') && end < text_.size() && text_[end] == c) {
        Fail(i, std::string("use `") + (c == '&' ? "and" : "or") + "` instead of " +
                    std::string(2, c));
      }
      token_.kind = Token::Kind::kOther;
    }
    token_.text = text_.substr(i, end - i);
    pos_ = end;
  }

  bool AtKeyword(std::string_view word) const {
    return token_.kind == Token::Kind::kIdent && token_.text == word;
  }

  int Add(AlertExpr::Node node) {
    expr_.nodes_.push_back(node);
    return static_cast<int>(expr_.nodes_.size()) - 1;
  }

  int Join(AlertExpr::Node::Kind kind, int left, int right) {
    AlertExpr::Node node;
    node.kind = kind;
    node.left = left;
    node.right = right;
    return Add(node);
  }

  int ParseOr() {
    int left = ParseAnd();
    while (AtKeyword("or")) {
      Advance();
      left = Join(AlertExpr::Node::Kind::kOr, left, ParseAnd());
    }
    return left;
  }

  int ParseAnd() {
    int left = ParseFactor();
    while (AtKeyword("and")) {
      Advance();
      left = Join(AlertExpr::Node::Kind::kAnd, left, ParseFactor());
    }
    return left;
  }

  int ParseFactor() {
    if (token_.kind == Token::Kind::kLParen) {
      const std::size_t open = token_.offset;
      Advance();
      int inner = ParseOr();
      if (token_.kind != Token::Kind::kRParen) Fail(open, "this ( is not closed");
      Advance();
      return inner;
    }
    return ParseComparison();
  }

  int ParseComparison() {
    if (token_.kind != Token::Kind::kIdent || AtKeyword("and") || AtKeyword("or")) {
      Fail(token_.offset, token_.kind == Token::Kind::kEnd
                              ? std::string("the condition ends too early; expected a "
                                            "comparison such as error_rate(5m) > 5%")
                              : "expected a comparison such as error_rate(5m) > 5%, got \"" +
                                    std::string(token_.text) + "\"");
    }
    const Token name = token_;
    const FunctionInfo* function = FindFunction(name.text);
    if (function == nullptr) {
      std::string list;
      for (std::string_view f : kFunctionNames) list += (list.empty() ? "" : ", ") + std::string(f);
      Fail(name.offset, "unknown function \"" + std::string(name.text) + "\"; functions: " + list,
           std::string(name.text));
    }
    const std::string fname(function->name);
    Advance();
    if (token_.kind != Token::Kind::kLParen) {
      Fail(token_.offset, fname + " needs a window in parentheses, e.g. " + fname + "(5m)");
    }
    Advance();
    if (token_.kind != Token::Kind::kNumber) {
      Fail(token_.offset, fname + " needs a window in parentheses, e.g. " + fname + "(5m)");
    }
    Comparison comparison;
    comparison.metric = function->metric;
    comparison.window = ParseWindow(token_, *function);
    Advance();
    if (token_.kind != Token::Kind::kRParen) {
      Fail(token_.offset, fname + "(...) takes one window; expected )");
    }
    Advance();
    if (token_.kind != Token::Kind::kOp) {
      Fail(token_.offset, "expected a comparison operator (>, >=, <, <=, ==, !=) after " + fname +
                              "(" + WindowText(comparison.window) + ")");
    }
    comparison.op = token_.op;
    Advance();
    if (token_.kind != Token::Kind::kNumber) {
      Fail(token_.offset, "expected a threshold after the operator, e.g. " + Example(*function));
    }
    comparison.threshold = ParseThreshold(token_, *function);
    Advance();
    AlertExpr::Node node;
    node.comparison = comparison;
    return Add(node);
  }

  static std::string Example(const FunctionInfo& f) {
    switch (f.unit) {
      case MetricUnit::kShare:
        return std::string(f.name) + "(5m) > 5%";
      case MetricUnit::kSeconds:
        return std::string(f.name) + "(5m) > 1s";
      case MetricUnit::kPerSecond:
        return std::string(f.name) + "(1m) > 100";
      case MetricUnit::kCount:
        break;
    }
    return std::string(f.name) +
           (f.metric == AlertMetric::kReplicaRestarts ? "(10m) >= 3" : "(5m) > 100");
  }

  static std::chrono::seconds ParseWindow(const Token& token, const FunctionInfo& f) {
    const std::string fname(f.name);
    auto window = ParseDuration(token.text);
    if (!window) {
      Fail(token.offset, fname + ": \"" + std::string(token.text) +
                             "\" is not a window; write a duration such as 30s, 5m or 1h");
    }
    if (window->count() % 1000 != 0 || window->count() == 0) {
      Fail(token.offset, fname + ": the window must be a whole number of seconds, at least 1s");
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*window);
    const auto max =
        f.metric == AlertMetric::kReplicaRestarts ? kMaxRestartsWindow : kMaxProxyWindow;
    if (seconds > max) {
      Fail(token.offset, fname + ": the window " + std::string(token.text) + " is longer than " +
                             WindowText(max) +
                             (f.metric == AlertMetric::kReplicaRestarts
                                  ? ""
                                  : " (the proxy keeps 600 seconds of each release's requests)"));
    }
    return seconds;
  }

  static double ParseThreshold(const Token& token, const FunctionInfo& f) {
    const std::string fname(f.name);
    const std::string text(token.text);
    const bool percent = !text.empty() && text.back() == '%';
    const std::string digits = percent ? text.substr(0, text.size() - 1) : text;
    const bool plain = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) {
      return IsDigit(c) || c == '.';
    });
    char* end = nullptr;
    const double number = plain ? std::strtod(digits.c_str(), &end) : 0;
    const bool numeric = plain && end == digits.c_str() + digits.size() && std::isfinite(number);
    switch (f.unit) {
      case MetricUnit::kShare: {
        if (!numeric) {
          Fail(token.offset,
               fname + " is a share of requests: write 5% or 0.05, not \"" + text + "\"");
        }
        const double share = percent ? number / 100 : number;
        if (share > 1) {
          Fail(token.offset, fname + " is a share of requests, from 0 to 1 (or 0% to 100%), not " +
                                 text + (percent ? "" : "; did you mean " + text + "%?"));
        }
        return share;
      }
      case MetricUnit::kSeconds: {
        if (percent) Fail(token.offset, fname + " is a duration: write 1s or 250ms, not " + text);
        auto duration = ParseDuration(text);
        if (!duration) {
          Fail(token.offset, fname + ": \"" + text + "\" is not a duration (write 1s or 250ms)");
        }
        return std::chrono::duration<double>(*duration).count();
      }
      case MetricUnit::kPerSecond:
      case MetricUnit::kCount:
        break;
    }
    if (!numeric || percent) {
      Fail(token.offset,
           fname + (f.unit == MetricUnit::kCount ? " is a count" : " is requests per second") +
               ": expected a plain number, got \"" + text + "\"");
    }
    return number;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  Token token_;
  AlertExpr expr_;
};

ParsedExpr ParseAlertExpr(std::string_view text) {
  ParsedExpr out;
  try {
    out.expr = ExprParser(text).Parse();
  } catch (const ParseFailure& failure) {
    out.expr = AlertExpr();
    out.error = failure.error;
  }
  return out;
}

AlertExpr AlertExpr::Single(const Comparison& comparison) {
  AlertExpr expr;
  Node node;
  node.comparison = comparison;
  expr.nodes_.push_back(node);
  expr.root_ = 0;
  return expr;
}

ExprResult AlertExpr::Evaluate(AlertInputs& inputs) const {
  if (root_ < 0) return {};
  return EvaluateNode(root_, inputs);
}

ExprResult AlertExpr::EvaluateNode(int index, AlertInputs& inputs) const {
  const Node& node = nodes_[static_cast<std::size_t>(index)];
  if (node.kind == Node::Kind::kCompare) {
    const Comparison& c = node.comparison;
    ExprResult result;
    result.metric = c.metric;
    std::optional<double> value = inputs.Value(c.metric, c.window);
    if (!value || std::isnan(*value)) return result;  // unknown
    result.value = value;
    result.truth = Compare(*value, c.op, c.threshold) ? Truth::kTrue : Truth::kFalse;
    return result;
  }
  // Both sides are evaluated (no short cut): the value shown should not depend on order.
  ExprResult left = EvaluateNode(node.left, inputs);
  ExprResult right = EvaluateNode(node.right, inputs);
  const Truth decisive = node.kind == Node::Kind::kAnd ? Truth::kFalse : Truth::kTrue;
  const Truth other = node.kind == Node::Kind::kAnd ? Truth::kTrue : Truth::kFalse;
  if (left.truth == decisive) return left;
  if (right.truth == decisive) return right;
  if (left.truth == other && right.truth == other) return left;
  // One side unknown: the whole is unknown; show whichever side has a value.
  ExprResult unknown = left.value ? left : right;
  unknown.truth = Truth::kUnknown;
  return unknown;
}

std::string AlertExpr::ToString() const {
  if (root_ < 0) return "";
  return NodeText(root_, Node::Kind::kOr);
}

std::string AlertExpr::NodeText(int index, Node::Kind parent) const {
  const Node& node = nodes_[static_cast<std::size_t>(index)];
  if (node.kind == Node::Kind::kCompare) {
    const Comparison& c = node.comparison;
    return std::string(AlertMetricName(c.metric)) + "(" + WindowText(c.window) + ") " +
           OpText(c.op) + " " + ThresholdText(c.metric, c.threshold);
  }
  const bool is_and = node.kind == Node::Kind::kAnd;
  std::string text = NodeText(node.left, node.kind) + (is_and ? " and " : " or ") +
                     NodeText(node.right, node.kind);
  // `and` binds tighter than `or`: only an `or` under an `and` needs parentheses (both are
  // associative, so a group of the same kind needs none).
  if (!is_and && parent == Node::Kind::kAnd) return "(" + text + ")";
  return text;
}

void AlertExpr::CollectComparisons(int index, std::vector<Comparison>& out) const {
  const Node& node = nodes_[static_cast<std::size_t>(index)];
  if (node.kind == Node::Kind::kCompare) {
    out.push_back(node.comparison);
    return;
  }
  CollectComparisons(node.left, out);
  CollectComparisons(node.right, out);
}

std::vector<Comparison> AlertExpr::Comparisons() const {
  std::vector<Comparison> out;
  if (root_ >= 0) CollectComparisons(root_, out);
  return out;
}

}  // namespace slipway::alerts
