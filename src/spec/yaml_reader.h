// Typed, position-aware access to yaml-cpp nodes for the spec parser: every getter checks the
// node's shape and range and, when it is wrong, records a Diagnostic at the offending node
// instead of throwing, so that one pass reports every problem in the file.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec_parser.h"

namespace slipway::spec {

// Collects the diagnostics of one file. yaml-cpp marks are 0-based; diagnostics are 1-based.
class DiagnosticList {
 public:
  explicit DiagnosticList(std::string file) : file_(std::move(file)) {}

  void Add(const YAML::Mark& mark, std::string message);
  void AddAt(int line, int column, std::string message);  // 1-based
  bool empty() const { return diagnostics_.empty(); }

  // Sorted by line, then column; problems at the same position keep the order they were found.
  std::vector<Diagnostic> TakeSorted();

 private:
  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

// A scalar's text and where it was written.
struct Text {
  std::string value;
  YAML::Mark mark;
};

// One `key: value` pair of a mapping.
struct Field {
  std::string name;  // the key as written
  std::string path;  // dotted path from the top, e.g. "readiness.interval"
  YAML::Node key;
  YAML::Node value;

  // The value's position. An empty value (`replicas:` and nothing after) takes the position of
  // the next token, often on a later line, so the key's position is used for it instead.
  YAML::Mark ValueMark() const;
};

// `text` in double quotes for a message, with '"' and newlines escaped and long text cut short.
std::string Quoted(std::string_view text);

// How a node looks, for "expected X, got Y": `"three"`, `a list`, `a mapping`, `nothing`.
std::string Describe(const YAML::Node& node);

// Reads one YAML mapping. Construction reports, once each, duplicate keys (at the second
// occurrence), keys that are not strings, and keys outside `known_keys` (with a did-you-mean
// suggestion). An empty `known_keys` accepts any key (the `env` map).
// `diagnostics` must outlive the reader.
class MappingReader {
 public:
  MappingReader(const YAML::Node& map, std::string path,
                std::span<const std::string_view> known_keys, DiagnosticList& diagnostics);

  const std::string& path() const { return path_; }
  YAML::Mark mark() const { return map_.Mark(); }

  // The first occurrence of each string key, in file order.
  const std::vector<Field>& fields() const { return fields_; }
  // nullptr when `key` is absent.
  const Field* Find(std::string_view key) const;

  // Reports `missing required field "key"` at the mapping when `key` is absent.
  void Require(std::string_view key);

  // Each getter returns nullopt both when the key is absent (nothing reported) and when its
  // value is wrong (reported at the value). Scalars are taken as written: `user: 0` is "0".
  std::optional<Text> String(std::string_view key);
  std::optional<std::int64_t> Integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<double> Number(std::string_view key, double min, double max);
  // Accepts exactly `true` and `false` (not YAML 1.1's yes/no/on/off).
  std::optional<bool> Bool(std::string_view key);
  std::optional<std::chrono::milliseconds> Duration(std::string_view key,
                                                    std::chrono::milliseconds min,
                                                    std::chrono::milliseconds max);
  std::optional<std::uint64_t> ByteSize(std::string_view key, std::uint64_t min, std::uint64_t max);
  // A list of scalars; an empty value is an empty list.
  std::optional<std::vector<std::string>> StringList(std::string_view key);
  // A nested mapping; an empty value (`limits:`) counts as absent.
  std::optional<MappingReader> Mapping(std::string_view key,
                                       std::span<const std::string_view> known_keys);

 private:
  // The value of `key` as a scalar, or nullopt (reported as "expected `what`") when it is not.
  std::optional<Text> Scalar(const Field& field, std::string_view what);

  YAML::Node map_;
  std::string path_;
  DiagnosticList* diagnostics_;
  std::vector<Field> fields_;
};

// Parses an already loaded slipway.yaml tree (the Compose reader builds one). Nodes made in
// memory have no position: their diagnostics come at 1:1.
ParseOutcome ParseAppSpecNode(const YAML::Node& root, const std::string& file,
                              const std::string& base_dir);

// Parses a scalar's text as a decimal integer (optional '-'), without range checks.
std::optional<std::int64_t> ParseInteger(std::string_view text);

// "0.5", "2", "1e+06": a number as messages show it (%g).
std::string FormatNumber(double value);

// "256Mi", "4Ki", "1000": the shortest exact binary form.
std::string FormatByteSize(std::uint64_t bytes);

}  // namespace slipway::spec
