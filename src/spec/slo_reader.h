// Reads the `slo` section (availability, latency, error_rate; docs/slo.md) and the settings of
// the built-in ErrorBudgetBurn rule (alerts.builtin.error_budget_burn). Internal to the spec
// module; spec_parser.cc and alerts_reader.cc call it.
#pragma once

#include "spec/app_spec.h"
#include "spec/yaml_reader.h"

namespace slipway::spec {

void ReadSlo(MappingReader& top, AppSpec& spec, DiagnosticList& diagnostics);

// `error_budget_burn`'s mapping: enabled, windows (long, short, burn_rate, severity), for.
void ReadBurnRateSettings(MappingReader& settings, BuiltinBurnRateAlert& out,
                          DiagnosticList& diagnostics);

}  // namespace slipway::spec
