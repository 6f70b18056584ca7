// CanaryJudge: one evaluation of a canary, check by check, from what the proxy saw of the canary
// and of the baseline (the stable release, over the same window). A check that cannot be judged
// (too few requests, nothing measurable) is inconclusive: never passed, so a canary that gets no
// traffic pauses instead of being promoted. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "metrics/release_window.h"
#include "spec/app_spec.h"

namespace slipway::analysis {

enum class Verdict { kPass, kFail, kInconclusive };
const char* VerdictName(Verdict verdict);  // "pass", "fail", "inconclusive"

struct CheckResult {
  std::string name;  // the check's name (its metric's when the spec gave none)
  spec::AnalysisMetric metric = spec::AnalysisMetric::kErrorRate;
  Verdict verdict = Verdict::kInconclusive;
  // Measured: a fraction, seconds, a ratio, a difference of fractions, or the p-value for
  // kMannWhitney (see spec::AnalysisMetric); NaN when not measurable.
  double value = std::numeric_limits<double>::quiet_NaN();
  // The baseline's side of a comparison (its error rate, its p95, its median latency for
  // kMannWhitney); NaN for checks that do not compare or when not measurable.
  double baseline = std::numeric_limits<double>::quiet_NaN();
  // The check fails when value > threshold: the check's max, or 1 - confidence for
  // kMannWhitney (which fails when value < threshold and the median shift >= min_effect).
  double threshold = std::numeric_limits<double>::quiet_NaN();
  std::uint64_t samples = 0;           // canary requests in the window
  std::uint64_t baseline_samples = 0;  // baseline requests; 0 for checks that do not compare
  // One line for a human: "error rate 31.2% > 5.0% (812 requests)",
  // "inconclusive: 7 requests < min_samples 20".
  std::string message;
};

// Judges one check. `baseline` is read only by the comparisons (*_vs_baseline, mann_whitney).
CheckResult JudgeCheck(const spec::AnalysisCheck& check, const metrics::WindowCounts& canary,
                       const metrics::WindowCounts& baseline);

struct Evaluation {
  // kFail if any check failed; else kInconclusive if any was inconclusive; else kPass.
  Verdict verdict = Verdict::kInconclusive;
  std::vector<CheckResult> checks;  // in the order of the config
  // One line: "fail: error_rate: error rate 31.2% > 5.0% (812 requests)" (the failed checks;
  // the inconclusive ones when none failed), "pass: error_rate, latency_p95".
  std::string summary;
};

// Judges every check of `config` (spec::DefaultAnalysisChecks() when it lists none).
Evaluation Evaluate(const spec::AnalysisConfig& config, const metrics::WindowCounts& canary,
                    const metrics::WindowCounts& baseline);

}  // namespace slipway::analysis
