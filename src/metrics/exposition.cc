#include "metrics/exposition.h"

#include <cassert>
#include <cmath>

#include <fmt/format.h>

namespace slipway::metrics {
namespace {

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (!first && c >= '0' && c <= '9');
}

[[maybe_unused]] bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0) && name[i] != ':') return false;
  }
  return true;
}

[[maybe_unused]] bool IsLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0)) return false;
  }
  return true;
}

// HELP text escapes only backslash and newline (quotes stay as they are).
std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

const char* TypeName(int type) {
  static constexpr const char* kNames[] = {"counter", "gauge", "histogram"};
  return kNames[type];
}

}  // namespace

std::string ExpositionWriter::FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string ExpositionWriter::EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

ExpositionWriter::Family& ExpositionWriter::FamilyFor(std::string_view name, std::string_view help,
                                                      Type type) {
  assert(IsMetricName(name));
  if (auto it = index_.find(name); it != index_.end()) {
    Family& family = families_[it->second];
    assert(family.type == type && "one metric name, one type");
    return family;
  }
  index_.emplace(std::string(name), families_.size());
  families_.push_back({std::string(name), std::string(help), type, {}});
  return families_.back();
}

void ExpositionWriter::AppendSample(std::string& out, std::string_view name, Labels labels,
                                    const Label* extra, std::string_view value) {
  out += name;
  if (labels.size() > 0 || extra != nullptr) {
    out += '{';
    bool first = true;
    auto append = [&](const Label& label) {
      assert(IsLabelName(label.name));
      if (!first) out += ',';
      first = false;
      out += label.name;
      out += "=\"";
      out += EscapeLabelValue(label.value);
      out += '"';
    };
    for (const Label& label : labels) append(label);
    if (extra != nullptr) append(*extra);
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

void ExpositionWriter::Counter(std::string_view name, std::string_view help, Labels labels,
                               std::uint64_t value) {
  assert(name.ends_with("_total"));
  AppendSample(FamilyFor(name, help, Type::kCounter).samples, name, labels, nullptr,
               fmt::format("{}", value));
}

void ExpositionWriter::Counter(std::string_view name, std::string_view help, Labels labels,
                               double value) {
  assert(name.ends_with("_total"));
  AppendSample(FamilyFor(name, help, Type::kCounter).samples, name, labels, nullptr,
               FormatValue(value));
}

void ExpositionWriter::Gauge(std::string_view name, std::string_view help, Labels labels,
                             std::int64_t value) {
  AppendSample(FamilyFor(name, help, Type::kGauge).samples, name, labels, nullptr,
               fmt::format("{}", value));
}

void ExpositionWriter::Gauge(std::string_view name, std::string_view help, Labels labels,
                             double value) {
  AppendSample(FamilyFor(name, help, Type::kGauge).samples, name, labels, nullptr,
               FormatValue(value));
}

void ExpositionWriter::Histogram(std::string_view name, std::string_view help, Labels labels,
                                 std::span<const double> bounds,
                                 std::span<const std::uint64_t> counts, double sum) {
  assert(counts.size() == bounds.size() + 1);
  std::string& out = FamilyFor(name, help, Type::kHistogram).samples;
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    assert(i == 0 || i >= bounds.size() || bounds[i - 1] < bounds[i]);
    cumulative += counts[i];
    const std::string le =
        i < bounds.size() ? FormatValue(bounds[i]) : FormatValue(HUGE_VAL);  // "+Inf"
    const Label le_label{"le", le};
    AppendSample(out, bucket, labels, &le_label, fmt::format("{}", cumulative));
  }
  AppendSample(out, std::string(name) + "_sum", labels, nullptr, FormatValue(sum));
  AppendSample(out, std::string(name) + "_count", labels, nullptr, fmt::format("{}", cumulative));
}

std::string ExpositionWriter::Text() const {
  std::string out;
  for (const Family& family : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, EscapeHelp(family.help),
                       family.name, TypeName(static_cast<int>(family.type)));
    out += family.samples;
  }
  return out;
}

}  // namespace slipway::metrics
