// Mann-Whitney U test of "the canary's latency is stochastically greater than the baseline's"
// (one-sided), by the normal approximation with tie correction and continuity correction: the
// same numbers as scipy.stats.mannwhitneyu(canary, baseline, alternative="greater",
// method="asymptotic"). Rank-based, so a few slow outliers move it little, unlike a mean.
#pragma once

#include <cstdint>
#include <limits>
#include <span>

#include "metrics/release_window.h"

namespace slipway::analysis {

struct MannWhitneyResult {
  // U of the canary: pairs (canary sample, baseline sample) where the canary's is greater, plus
  // half the tied pairs; n1 * n2 / 2 when the two do not differ.
  double u = 0;
  double z = std::numeric_limits<double>::quiet_NaN();  // (u - n1 n2 / 2 - 0.5) / sigma
  // P(U >= u) if the two had the same distribution: small means the canary is slower. NaN when
  // either side has no sample; 1 when all samples tie (nothing can tell the two apart).
  double p_value = std::numeric_limits<double>::quiet_NaN();
  std::uint64_t n1 = 0;  // canary samples
  std::uint64_t n2 = 0;  // baseline samples
};

// On two latency histograms: each bucket is one group of ties.
MannWhitneyResult MannWhitneyGreater(const metrics::LatencyHistogram& canary,
                                     const metrics::LatencyHistogram& baseline);

// On raw samples: equal values tie; NaN samples are left out.
MannWhitneyResult MannWhitneyGreater(std::span<const double> canary,
                                     std::span<const double> baseline);

}  // namespace slipway::analysis
