// ExpositionWriter: builds a page in the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Samples may be added in any
// order; Text() groups each metric family's samples under its one `# HELP` and `# TYPE` line,
// families in the order they were first used, as the format requires. Label values are escaped
// (\\, \", \n); names are the caller's constants and are checked by assertions only.
// Not thread-safe; one writer per scrape.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace slipway::metrics {

struct Label {
  std::string_view name;   // [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"
  std::string_view value;  // any UTF-8
};
using Labels = std::initializer_list<Label>;

class ExpositionWriter {
 public:
  // A counter's name ends in "_total". `help` and the type are taken from a family's first
  // sample; a later sample of the same name must have the same type.
  void Counter(std::string_view name, std::string_view help, Labels labels, std::uint64_t value);
  void Counter(std::string_view name, std::string_view help, Labels labels, double value);
  void Gauge(std::string_view name, std::string_view help, Labels labels, std::int64_t value);
  void Gauge(std::string_view name, std::string_view help, Labels labels, double value);
  // `bounds`: the finite upper bounds (`le`, inclusive), ascending. `counts`: per bucket, not
  // cumulative, bounds.size() + 1 of them (the last: above the last bound). Writes the
  // cumulative `<name>_bucket` series (le="+Inf" included), `<name>_sum` and `<name>_count`.
  void Histogram(std::string_view name, std::string_view help, Labels labels,
                 std::span<const double> bounds, std::span<const std::uint64_t> counts, double sum);

  // The page: every family with its samples, each line ending in "\n".
  std::string Text() const;

  // The value as the format writes it: shortest round-trip decimal, "+Inf", "-Inf", "NaN".
  static std::string FormatValue(double value);
  // The label value with \, " and newline escaped.
  static std::string EscapeLabelValue(std::string_view value);

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    std::string name;
    std::string help;
    Type type;
    std::string samples;  // complete lines
  };
  // The family `name`, created on first use.
  Family& FamilyFor(std::string_view name, std::string_view help, Type type);
  // Appends `name{labels[,extra]} value\n` to `out`.
  static void AppendSample(std::string& out, std::string_view name, Labels labels,
                           const Label* extra, std::string_view value);

  std::vector<Family> families_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace slipway::metrics
