#include "analysis/analysis_run.h"

#include <algorithm>

namespace slipway::analysis {

const char* DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kContinue:
      return "continue";
    case Decision::kAbort:
      return "abort";
    case Decision::kPause:
      return "pause";
  }
  return "?";
}

AnalysisRun::AnalysisRun(const spec::AnalysisConfig& config)
    : failure_limit_(std::max(config.failure_limit, 1)),
      inconclusive_limit_(std::max(config.inconclusive_limit, 1)) {}

Decision AnalysisRun::Add(const Evaluation& evaluation) {
  ++evaluations_;
  const Verdict verdict = evaluation.verdict;
  consecutive_failures_ = verdict == Verdict::kFail ? consecutive_failures_ + 1 : 0;
  consecutive_inconclusive_ = verdict == Verdict::kInconclusive ? consecutive_inconclusive_ + 1 : 0;
  consecutive_passes_ = verdict == Verdict::kPass ? consecutive_passes_ + 1 : 0;
  if (consecutive_failures_ >= failure_limit_) return Decision::kAbort;
  if (consecutive_inconclusive_ >= inconclusive_limit_) return Decision::kPause;
  return Decision::kContinue;
}

}  // namespace slipway::analysis
