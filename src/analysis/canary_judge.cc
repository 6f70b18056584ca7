#include "analysis/canary_judge.h"

#include "spec/delivery_reader.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <string_view>

#include "analysis/mann_whitney.h"

namespace slipway::analysis {
namespace {

using spec::AnalysisMetric;

constexpr std::string_view kInconclusivePrefix = "inconclusive: ";

bool Compares(AnalysisMetric metric) {
  return metric == AnalysisMetric::kErrorRateVsBaseline ||
         metric == AnalysisMetric::kLatencyP95VsBaseline || metric == AnalysisMetric::kMannWhitney;
}

std::string Percent(double fraction) { return fmt::format("{:.1f}%", fraction * 100); }

std::string Latency(double seconds) {
  return std::abs(seconds) < 1 ? fmt::format("{:.1f}ms", seconds * 1e3)
                               : fmt::format("{:.2f}s", seconds);
}

std::string SignedLatency(double seconds) {
  if (std::abs(seconds) < 0.05e-3) seconds = 0;  // what rounds to 0.0ms is no shift, not "-0.0ms"
  return (seconds < 0 ? "-" : "+") + Latency(std::abs(seconds));
}

std::string Requests(const CheckResult& r) {
  return Compares(r.metric) ? fmt::format("({} / {} requests)", r.samples, r.baseline_samples)
                            : fmt::format("({} requests)", r.samples);
}

CheckResult Inconclusive(CheckResult r, std::string_view why) {
  r.verdict = Verdict::kInconclusive;
  r.message = fmt::format("{}{}", kInconclusivePrefix, why);
  return r;
}

// Why `r` (measured) cannot be judged, checked in the order an operator would fix things.
std::optional<std::string> WhyNotJudged(const spec::AnalysisCheck& check, const CheckResult& r) {
  if (std::isnan(r.threshold)) return "the check's threshold is not a number";
  if (r.samples < check.min_samples) {
    return fmt::format("{} requests < min_samples {}", r.samples, check.min_samples);
  }
  if (Compares(r.metric) && r.baseline_samples < check.min_samples) {
    return fmt::format("baseline {} requests < min_samples {}", r.baseline_samples,
                       check.min_samples);
  }
  if (!std::isfinite(r.value) || (Compares(r.metric) && !std::isfinite(r.baseline))) {
    return fmt::format("{} not measurable", spec::AnalysisMetricName(r.metric));
  }
  return std::nullopt;
}

// The measured side of a threshold check's message: "error rate 31.2%".
std::string DescribeValue(const CheckResult& r, const metrics::WindowCounts& canary) {
  switch (r.metric) {
    case AnalysisMetric::kErrorRate:
      return "error rate " + Percent(r.value);
    case AnalysisMetric::kLatencyP95:
      return "latency p95 " + Latency(r.value);
    case AnalysisMetric::kLatencyP99:
      return "latency p99 " + Latency(r.value);
    case AnalysisMetric::kErrorRateVsBaseline:
      return fmt::format("error rate {} vs baseline {}: {:+.1f}%", Percent(canary.ErrorRate()),
                         Percent(r.baseline), r.value * 100);
    case AnalysisMetric::kLatencyP95VsBaseline:
      return fmt::format("latency p95 {} vs baseline {}: {:.2f}x",
                         Latency(canary.LatencyQuantile(0.95)), Latency(r.baseline), r.value);
    case AnalysisMetric::kMannWhitney:
      break;  // judged by JudgeMannWhitney
  }
  return spec::AnalysisMetricName(r.metric);
}

std::string DescribeThreshold(AnalysisMetric metric, double threshold) {
  switch (metric) {
    case AnalysisMetric::kLatencyP95:
    case AnalysisMetric::kLatencyP99:
      return Latency(threshold);
    case AnalysisMetric::kLatencyP95VsBaseline:
      return fmt::format("{:.2f}x", threshold);
    default:
      return Percent(threshold);
  }
}

// Fails when the canary's latency is significantly greater (p < 1 - confidence) and its median
// is at least min_effect above the baseline's: with thousands of requests a shift of a
// millisecond is significant, and it should not fail a rollout.
CheckResult JudgeMannWhitney(const spec::AnalysisCheck& check, const metrics::WindowCounts& canary,
                             const metrics::WindowCounts& baseline, CheckResult r) {
  r.value = MannWhitneyGreater(canary.latency, baseline.latency).p_value;
  r.baseline = baseline.LatencyQuantile(0.5);
  if (auto why = WhyNotJudged(check, r)) return Inconclusive(std::move(r), *why);
  const double shift = canary.LatencyQuantile(0.5) - r.baseline;
  if (std::isnan(shift) || std::isnan(check.min_effect)) {
    return Inconclusive(std::move(r), "median shift or min_effect not a number");
  }
  const bool significant = r.value < r.threshold;
  const bool large = shift >= check.min_effect;
  r.verdict = significant && large ? Verdict::kFail : Verdict::kPass;
  if (!significant) {
    r.message = fmt::format("latency not above baseline: p={:.3g} >= {:.3g}, median {} {}", r.value,
                            r.threshold, SignedLatency(shift), Requests(r));
  } else if (!large) {
    r.message = fmt::format(
        "latency above baseline by median {} < min_effect {}: p={:.3g} < {:.3g} {}",
        SignedLatency(shift), Latency(check.min_effect), r.value, r.threshold, Requests(r));
  } else {
    r.message =
        fmt::format("latency above baseline: p={:.3g} < {:.3g}, median {} >= {} {}", r.value,
                    r.threshold, SignedLatency(shift), Latency(check.min_effect), Requests(r));
  }
  return r;
}

std::string JoinChecks(const Evaluation& e, Verdict verdict) {
  std::string out;
  for (const auto& check : e.checks) {
    if (check.verdict != verdict) continue;
    if (!out.empty()) out += verdict == Verdict::kPass ? ", " : "; ";
    out += check.name;
    if (verdict == Verdict::kPass) continue;
    std::string_view message = check.message;
    if (message.starts_with(kInconclusivePrefix)) message.remove_prefix(kInconclusivePrefix.size());
    out += ": ";
    out += message;
  }
  return out;
}

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "fail";
    case Verdict::kInconclusive:
      return "inconclusive";
  }
  return "?";
}

CheckResult JudgeCheck(const spec::AnalysisCheck& check, const metrics::WindowCounts& canary,
                       const metrics::WindowCounts& baseline) {
  CheckResult r;
  r.name = check.name.empty() ? spec::AnalysisMetricName(check.metric) : check.name;
  r.metric = check.metric;
  r.threshold = check.metric == AnalysisMetric::kMannWhitney ? 1 - check.confidence : check.max;
  r.samples = canary.requests;
  r.baseline_samples = Compares(check.metric) ? baseline.requests : 0;
  switch (check.metric) {
    case AnalysisMetric::kErrorRate:
      r.value = canary.ErrorRate();
      break;
    case AnalysisMetric::kLatencyP95:
      r.value = canary.LatencyQuantile(0.95);
      break;
    case AnalysisMetric::kLatencyP99:
      r.value = canary.LatencyQuantile(0.99);
      break;
    case AnalysisMetric::kErrorRateVsBaseline:
      r.baseline = baseline.ErrorRate();
      r.value = canary.ErrorRate() - r.baseline;
      break;
    case AnalysisMetric::kLatencyP95VsBaseline:
      r.baseline = baseline.LatencyQuantile(0.95);
      r.value = canary.LatencyQuantile(0.95) / r.baseline;
      break;
    case AnalysisMetric::kMannWhitney:
      return JudgeMannWhitney(check, canary, baseline, std::move(r));
  }
  if (auto why = WhyNotJudged(check, r)) return Inconclusive(std::move(r), *why);
  r.verdict = r.value > r.threshold ? Verdict::kFail : Verdict::kPass;
  r.message =
      fmt::format("{} {} {} {}", DescribeValue(r, canary), r.verdict == Verdict::kFail ? ">" : "<=",
                  DescribeThreshold(r.metric, r.threshold), Requests(r));
  return r;
}

Evaluation Evaluate(const spec::AnalysisConfig& config, const metrics::WindowCounts& canary,
                    const metrics::WindowCounts& baseline) {
  std::vector<spec::AnalysisCheck> defaults;
  if (config.checks.empty()) defaults = spec::DefaultAnalysisChecks();
  const auto& checks = config.checks.empty() ? defaults : config.checks;

  Evaluation e;
  e.verdict = Verdict::kPass;
  for (const auto& check : checks) {
    e.checks.push_back(JudgeCheck(check, canary, baseline));
    const Verdict verdict = e.checks.back().verdict;
    if (verdict == Verdict::kFail ||
        (verdict == Verdict::kInconclusive && e.verdict == Verdict::kPass)) {
      e.verdict = verdict;
    }
  }
  e.summary = fmt::format("{}: {}", VerdictName(e.verdict), JoinChecks(e, e.verdict));
  return e;
}

}  // namespace slipway::analysis
