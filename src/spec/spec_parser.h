// Parses and validates slipway.yaml into an AppSpec. Every problem found is reported (not only
// the first) as a Diagnostic with the 1-based line and column of the offending node.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/app_spec.h"

namespace slipway::spec {

struct Diagnostic {
  std::string file;
  int line = 1;    // 1-based
  int column = 1;  // 1-based
  std::string message;

  // "FILE:LINE:COL: message"
  std::string ToString() const;
};

struct ParseOutcome {
  std::optional<AppSpec> spec;          // set only when diagnostics is empty
  std::vector<Diagnostic> diagnostics;  // sorted by line, then column
};

// Parses `yaml_text`. `file` names the source in diagnostics. A relative `command` containing a
// '/' (e.g. "./hello") is resolved against `base_dir` (the spec file's directory).
ParseOutcome ParseAppSpec(std::string_view yaml_text, const std::string& file,
                          const std::string& base_dir);

// A feature flag's value as written in the spec or given to `slipway flag set`: true, false or a
// percentage ("25%"); nullopt for anything else.
std::optional<FlagValue> ParseFlagValue(const std::string& text);

// "name@sha256:<64 hex>" or an image ID "sha256:<64 hex>": a reference that always means the
// same bits. Anything else (a tag, or no tag: "latest") is mutable.
bool IsPinnedImageReference(std::string_view ref);

// Reads and parses the file at `path`; an unreadable file is one diagnostic at 1:1.
ParseOutcome ParseAppSpecFile(const std::string& path);

}  // namespace slipway::spec
