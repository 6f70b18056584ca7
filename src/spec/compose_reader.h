// Reads a Docker Compose file (compose.yaml) as Slipway apps: each active service becomes one
// slipway.yaml (an AppSpec named `<project>-<service>`), in the order its depends_on asks for.
// Keys Slipway cannot honour are errors or warnings at their FILE:LINE:COL, never dropped
// silently; docs/docker.md has the mapping table.
#pragma once

#include <string>
#include <vector>

#include "spec/app_spec.h"
#include "spec/spec_parser.h"

namespace slipway::spec {

struct ComposeService {
  std::string service;    // the Compose service name
  AppSpec spec;           // the validated translation
  std::string spec_yaml;  // the same as slipway.yaml text: what the daemon receives and stores
  std::vector<std::string> depends_on;  // services (names) that must be ready first
};

struct ComposeOutcome {
  std::string project;                   // `name:`, else the file's directory, lowercased
  std::vector<ComposeService> services;  // active ones in start order; only when no errors
  std::vector<Diagnostic> errors;        // sorted; non-empty: nothing may be deployed
  std::vector<Diagnostic> warnings;      // "warning: ..." messages, sorted
  bool ok() const { return errors.empty(); }
};

// Reads the Compose file at `path`; `profiles` are the active profiles (`--profile`): a service
// with `profiles:` is read only when one of them is active.
ComposeOutcome ReadComposeFile(const std::string& path, const std::vector<std::string>& profiles);

// True for a file named compose.y(a)ml / docker-compose*.y(a)ml, or whose top level has
// `services:` (and no `app:`): `-f` then takes it as a Compose file.
bool LooksLikeComposeFile(const std::string& path);

}  // namespace slipway::spec
