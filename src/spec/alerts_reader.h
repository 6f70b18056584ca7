// Reads the `alerts` section: receivers, grouping and retry timers, the built-in rules and user
// rules (docs/alerts.md). Internal to the spec module; spec_parser.cc calls it once.
#pragma once

#include "spec/app_spec.h"
#include "spec/yaml_reader.h"

namespace slipway::spec {

void ReadAlerts(MappingReader& top, AppSpec& spec, DiagnosticList& diagnostics);

}  // namespace slipway::spec
