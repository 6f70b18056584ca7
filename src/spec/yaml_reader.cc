#include "spec/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "common/duration.h"
#include "spec/did_you_mean.h"

namespace slipway::spec {
namespace {

bool IsNullMark(const YAML::Mark& mark) { return mark.line < 0 || mark.column < 0; }

}  // namespace

std::string Quoted(std::string_view text) {
  constexpr std::size_t kMaxShown = 40;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    if (text[i] == '\n') {
      out += "\\n";
    } else if (text[i] == '"') {
      out += "\\\"";
    } else {
      out += text[i];
    }
  }
  if (text.size() > kMaxShown) out += "...";
  return out + "\"";
}

std::string FormatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

namespace {

std::string Prefixed(const std::string& path, std::string message) {
  return path.empty() ? message : path + ": " + message;
}

}  // namespace

void DiagnosticList::Add(const YAML::Mark& mark, std::string message) {
  if (IsNullMark(mark)) {
    AddAt(1, 1, std::move(message));
  } else {
    AddAt(mark.line + 1, mark.column + 1, std::move(message));
  }
}

void DiagnosticList::AddAt(int line, int column, std::string message) {
  diagnostics_.push_back(Diagnostic{file_, line, column, std::move(message)});
}

std::vector<Diagnostic> DiagnosticList::TakeSorted() {
  std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return a.line != b.line ? a.line < b.line : a.column < b.column;
                   });
  return std::move(diagnostics_);
}

YAML::Mark Field::ValueMark() const {
  YAML::Mark mark = value.Mark();
  if (value.IsNull() && (IsNullMark(mark) || mark.line != key.Mark().line)) return key.Mark();
  return mark;
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return Quoted(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::optional<std::int64_t> ParseInteger(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::string FormatByteSize(std::uint64_t bytes) {
  static constexpr std::pair<std::uint64_t, const char*> kUnits[] = {
      {1ull << 40, "Ti"}, {1ull << 30, "Gi"}, {1ull << 20, "Mi"}, {1ull << 10, "Ki"}};
  for (const auto& [scale, suffix] : kUnits) {
    if (bytes != 0 && bytes % scale == 0) return std::to_string(bytes / scale) + suffix;
  }
  return std::to_string(bytes);
}

MappingReader::MappingReader(const YAML::Node& map, std::string path,
                             std::span<const std::string_view> known_keys,
                             DiagnosticList& diagnostics)
    : map_(map), path_(std::move(path)), diagnostics_(&diagnostics) {
  // yaml-cpp keeps every pair of a mapping, repeated keys included, so duplicates are found here.
  std::unordered_map<std::string, YAML::Mark> first_seen;
  // Copies, not references: yaml-cpp's iterator hands out pairs that live only as long as the
  // expression that produced them.
  for (const auto& pair : map_) {
    YAML::Node key = pair.first;
    if (!key.IsScalar()) {
      diagnostics_->Add(key.Mark(), Prefixed(path_, "keys must be strings, got " + Describe(key)));
      continue;
    }
    const std::string& name = key.Scalar();
    auto [seen, inserted] = first_seen.emplace(name, key.Mark());
    if (!inserted) {
      const YAML::Mark& first = seen->second;
      diagnostics_->Add(key.Mark(),
                        Prefixed(path_, "duplicate key " + Quoted(name) + " (first defined at " +
                                            std::to_string(first.line + 1) + ":" +
                                            std::to_string(first.column + 1) + ")"));
      continue;
    }
    if (!known_keys.empty() &&
        std::find(known_keys.begin(), known_keys.end(), name) == known_keys.end()) {
      std::string message = "unknown key " + Quoted(name);
      if (name == "<<") {
        // yaml-cpp 0.7 has no merge keys: `<<: *defaults` arrives as an ordinary key.
        message += "; YAML merge keys are not supported, write the fields out";
      } else if (auto suggestion = DidYouMean(name, known_keys)) {
        message += "; did you mean " + Quoted(*suggestion) + "?";
      } else {
        message += "; valid keys: " + JoinNames(known_keys);
      }
      diagnostics_->Add(key.Mark(), Prefixed(path_, std::move(message)));
      continue;
    }
    fields_.push_back(Field{name, path_.empty() ? name : path_ + "." + name, key, pair.second});
  }
}

const Field* MappingReader::Find(std::string_view key) const {
  for (const Field& field : fields_) {
    if (field.name == key) return &field;
  }
  return nullptr;
}

void MappingReader::Require(std::string_view key) {
  if (Find(key) == nullptr) {
    diagnostics_->Add(map_.Mark(), Prefixed(path_, "missing required field " + Quoted(key)));
  }
}

std::optional<Text> MappingReader::Scalar(const Field& field, std::string_view what) {
  if (field.value.IsScalar()) return Text{field.value.Scalar(), field.value.Mark()};
  diagnostics_->Add(field.ValueMark(), field.path + ": expected " + std::string(what) + ", got " +
                                           Describe(field.value));
  return std::nullopt;
}

std::optional<Text> MappingReader::String(std::string_view key) {
  const Field* field = Find(key);
  if (field == nullptr) return std::nullopt;
  return Scalar(*field, "a string");
}

std::optional<std::int64_t> MappingReader::Integer(std::string_view key, std::int64_t min,
                                                   std::int64_t max) {
  const Field* field = Find(key);
  if (field == nullptr) return std::nullopt;
  auto text = Scalar(*field, "an integer");
  if (!text) return std::nullopt;
  const std::string& s = text->value;
  const std::size_t digits_from = !s.empty() && s[0] == '-' ? 1 : 0;
  const bool all_digits =
      s.size() > digits_from &&
      std::all_of(s.begin() + digits_from, s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!all_digits) {
    diagnostics_->Add(text->mark, field->path + ": expected an integer, got " + Quoted(s));
    return std::nullopt;
  }
  auto value = ParseInteger(s);  // nullopt here only on overflow: far out of range
  if (!value || *value < min || *value > max) {
    diagnostics_->Add(text->mark, field->path + ": " + s + " is out of range (" +
                                      std::to_string(min) + ".." + std::to_string(max) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<double> MappingReader::Number(std::string_view key, double min, double max) {
  const Field* field = Find(key);
  if (field == nullptr) return std::nullopt;
  auto text = Scalar(*field, "a number");
  if (!text) return std::nullopt;
  const std::string& s = text->value;
  double value = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value, std::chars_format::fixed);
  if (s.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    diagnostics_->Add(text->mark, field->path + ": expected a number, got " + Quoted(s));
    return std::nullopt;
  }
  if (value < min || value > max) {
    diagnostics_->Add(text->mark, field->path + ": " + s + " is out of range (" +
                                      FormatNumber(min) + ".." + FormatNumber(max) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> MappingReader::Bool(std::string_view key) {
  const Field* field = Find(key);
  if (field == nullptr) return std::nullopt;
  auto text = Scalar(*field, "true or false");
  if (!text) return std::nullopt;
  if (text->value == "true") return true;
  if (text->value == "false") return false;
  diagnostics_->Add(text->mark,
                    field->path + ": expected true or false, got " + Quoted(text->value));
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> MappingReader::Duration(std::string_view key,
                                                                 std::chrono::milliseconds min,
                                                                 std::chrono::milliseconds max) {
  const Field* field = Find(key);
  if (field == nullptr) return std::nullopt;
  auto text = Scalar(*field, "a duration");
  if (!text) return std::nullopt;
  auto value = ParseDuration(text->value);
  if (!value) {
    diagnostics_->Add(text->mark, field->path + ": " + Quoted(text->value) +
                                      " is not a duration (examples: 500ms, 10s, 2m)");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    diagnostics_->Add(text->mark, field->path + ": " + text->value + " is out of range (" +
                                      FormatDuration(min) + ".." + FormatDuration(max) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint64_t> MappingReader::ByteSize(std::string_view key, std::uint64_t min,
                                                     std::uint64_t max) {
  const Field* field = Find(key);
  if (field == nullptr) return std::nullopt;
  auto text = Scalar(*field, "a byte size");
  if (!text) return std::nullopt;
  auto value = ParseByteSize(text->value);
  if (!value) {
    diagnostics_->Add(text->mark, field->path + ": " + Quoted(text->value) +
                                      " is not a byte size (examples: 512Ki, 256Mi, 1Gi)");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    std::string range = max == std::numeric_limits<std::uint64_t>::max()
                            ? "at least " + FormatByteSize(min)
                            : FormatByteSize(min) + ".." + FormatByteSize(max);
    diagnostics_->Add(text->mark,
                      field->path + ": " + text->value + " is out of range (" + range + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<std::vector<std::string>> MappingReader::StringList(std::string_view key) {
  const Field* field = Find(key);
  if (field == nullptr) return std::nullopt;
  if (field->value.IsNull()) return std::vector<std::string>{};
  if (!field->value.IsSequence()) {
    diagnostics_->Add(field->ValueMark(),
                      field->path + ": expected a list of strings, got " + Describe(field->value));
    return std::nullopt;
  }
  std::vector<std::string> items;
  bool all_scalars = true;
  for (std::size_t i = 0; i < field->value.size(); ++i) {
    const YAML::Node& item = field->value[i];
    if (item.IsScalar()) {
      items.push_back(item.Scalar());
    } else {
      diagnostics_->Add(item.Mark(), field->path + "[" + std::to_string(i) +
                                         "]: expected a string, got " + Describe(item));
      all_scalars = false;
    }
  }
  if (!all_scalars) return std::nullopt;
  return items;
}

std::optional<MappingReader> MappingReader::Mapping(std::string_view key,
                                                    std::span<const std::string_view> known_keys) {
  const Field* field = Find(key);
  if (field == nullptr || field->value.IsNull()) return std::nullopt;
  if (!field->value.IsMap()) {
    diagnostics_->Add(field->ValueMark(),
                      field->path + ": expected a mapping, got " + Describe(field->value));
    return std::nullopt;
  }
  return MappingReader(field->value, field->path, known_keys, *diagnostics_);
}

}  // namespace slipway::spec
