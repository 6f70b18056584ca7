// Reads how a release is delivered: `strategy` (rolling, blue-green, canary steps), `analysis`
// (the checks that judge a canary) and `flags` (feature flags). Internal to the spec module;
// split from spec_parser.cc, which calls it once proxy.listen is known.
#pragma once

#include "spec/app_spec.h"
#include "spec/yaml_reader.h"

namespace slipway::spec {

void ReadDelivery(MappingReader& top, AppSpec& spec, DiagnosticList& diagnostics);

// The checks used when `analysis.checks` is not written: error rate at most 5% and p95 at most
// 1 s, each over at least 20 requests.
std::vector<AnalysisCheck> DefaultAnalysisChecks();

// The metric's name as written in the spec ("error_rate", "latency_p95", ...).
const char* AnalysisMetricName(AnalysisMetric metric);
const char* StrategyName(Strategy strategy);  // "rolling", "blue-green", "canary"

}  // namespace slipway::spec
