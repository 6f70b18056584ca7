// AnalysisRun: the evaluations of one analysis step in order, and what the rollout does next:
// abort after failure_limit failed evaluations in a row, pause after inconclusive_limit
// inconclusive ones in a row (a canary without traffic waits for an operator), else continue.
// Any other verdict breaks a row. Not thread-safe: the controller's strand owns it.
#pragma once

#include "analysis/canary_judge.h"
#include "spec/app_spec.h"

namespace slipway::analysis {

enum class Decision { kContinue, kAbort, kPause };
const char* DecisionName(Decision decision);  // "continue", "abort", "pause"

class AnalysisRun {
 public:
  // Limits below 1 count as 1.
  explicit AnalysisRun(const spec::AnalysisConfig& config);

  // Counts `evaluation` and returns the decision after it.
  Decision Add(const Evaluation& evaluation);

  int consecutive_failures() const { return consecutive_failures_; }
  int consecutive_inconclusive() const { return consecutive_inconclusive_; }
  int consecutive_passes() const { return consecutive_passes_; }
  int evaluations() const { return evaluations_; }

 private:
  int failure_limit_;
  int inconclusive_limit_;
  int consecutive_failures_ = 0;
  int consecutive_inconclusive_ = 0;
  int consecutive_passes_ = 0;
  int evaluations_ = 0;
};

}  // namespace slipway::analysis
