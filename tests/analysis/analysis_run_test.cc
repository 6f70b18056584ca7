// AnalysisRun: consecutive verdicts against failure_limit and inconclusive_limit.
#include "analysis/analysis_run.h"

#include <gtest/gtest.h>

namespace slipway::analysis {
namespace {

Evaluation Of(Verdict verdict) {
  Evaluation e;
  e.verdict = verdict;
  return e;
}

spec::AnalysisConfig Limits(int failure_limit, int inconclusive_limit) {
  spec::AnalysisConfig config;
  config.failure_limit = failure_limit;
  config.inconclusive_limit = inconclusive_limit;
  return config;
}

const Evaluation kPass = Of(Verdict::kPass);
const Evaluation kFail = Of(Verdict::kFail);
const Evaluation kInconclusive = Of(Verdict::kInconclusive);

TEST(AnalysisRun, OneFailureAbortsByDefault) {
  AnalysisRun run(spec::AnalysisConfig{});
  EXPECT_EQ(run.Add(kPass), Decision::kContinue);
  EXPECT_EQ(run.Add(kFail), Decision::kAbort);
  EXPECT_EQ(run.consecutive_failures(), 1);
  EXPECT_EQ(run.evaluations(), 2);
}

TEST(AnalysisRun, AbortsOnFailuresInARow) {
  AnalysisRun run(Limits(3, 10));
  EXPECT_EQ(run.Add(kFail), Decision::kContinue);
  EXPECT_EQ(run.Add(kFail), Decision::kContinue);
  EXPECT_EQ(run.Add(kPass), Decision::kContinue);  // breaks the row
  EXPECT_EQ(run.consecutive_failures(), 0);
  EXPECT_EQ(run.consecutive_passes(), 1);
  EXPECT_EQ(run.Add(kFail), Decision::kContinue);
  EXPECT_EQ(run.Add(kFail), Decision::kContinue);
  EXPECT_EQ(run.Add(kInconclusive), Decision::kContinue);  // so does an inconclusive one
  EXPECT_EQ(run.Add(kFail), Decision::kContinue);
  EXPECT_EQ(run.Add(kFail), Decision::kContinue);
  EXPECT_EQ(run.Add(kFail), Decision::kAbort);
  EXPECT_EQ(run.consecutive_failures(), 3);
  EXPECT_EQ(run.evaluations(), 9);
}

TEST(AnalysisRun, PausesOnInconclusiveInARow) {
  AnalysisRun run(Limits(1, 3));
  EXPECT_EQ(run.Add(kInconclusive), Decision::kContinue);
  EXPECT_EQ(run.Add(kInconclusive), Decision::kContinue);
  EXPECT_EQ(run.Add(kPass), Decision::kContinue);
  EXPECT_EQ(run.consecutive_inconclusive(), 0);
  EXPECT_EQ(run.Add(kInconclusive), Decision::kContinue);
  EXPECT_EQ(run.Add(kInconclusive), Decision::kContinue);
  EXPECT_EQ(run.Add(kInconclusive), Decision::kPause);
  EXPECT_EQ(run.consecutive_inconclusive(), 3);
  EXPECT_EQ(run.Add(kPass), Decision::kContinue);
}

TEST(AnalysisRun, LimitsBelowOneCountAsOne) {
  AnalysisRun run(Limits(0, -2));
  EXPECT_EQ(run.Add(kPass), Decision::kContinue);
  EXPECT_EQ(run.Add(kInconclusive), Decision::kPause);
  EXPECT_EQ(run.Add(kFail), Decision::kAbort);
}

TEST(AnalysisRun, DecisionNames) {
  EXPECT_STREQ(DecisionName(Decision::kContinue), "continue");
  EXPECT_STREQ(DecisionName(Decision::kAbort), "abort");
  EXPECT_STREQ(DecisionName(Decision::kPause), "pause");
}

}  // namespace
}  // namespace slipway::analysis
