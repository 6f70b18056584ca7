#include "analysis/mann_whitney.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace slipway::analysis {
namespace {

// Accumulates U from tie groups given in ascending order of value. U is counted as pairs
// directly (each canary sample against the baseline samples below it, half against its ties)
// rather than as a rank sum minus n1(n1+1)/2, which would cancel large numbers.
class RankSum {
 public:
  void AddTieGroup(double canary, double baseline) {
    const double ties = canary + baseline;
    if (ties == 0) return;
    u_ += canary * (baseline_below_ + baseline / 2);
    baseline_below_ += baseline;
    n1_ += canary;
    n2_ += baseline;
    tie_term_ += ties * ties * ties - ties;
  }

  MannWhitneyResult Result() const {
    MannWhitneyResult r;
    r.u = u_;
    r.n1 = static_cast<std::uint64_t>(n1_);
    r.n2 = static_cast<std::uint64_t>(n2_);
    if (n1_ == 0 || n2_ == 0) return r;
    const double n = n1_ + n2_;
    const double mean = n1_ * n2_ / 2;
    const double variance = n1_ * n2_ / 12 * ((n + 1) - tie_term_ / (n * (n - 1)));
    if (!(variance > 0)) {  // every sample in one tie group: U is n1 n2 / 2 in every ranking
      r.z = 0;
      r.p_value = 1;
      return r;
    }
    r.z = (u_ - mean - 0.5) / std::sqrt(variance);
    r.p_value = 0.5 * std::erfc(r.z / std::sqrt(2.0));  // upper tail of the standard normal
    return r;
  }

 private:
  double u_ = 0;
  double baseline_below_ = 0;
  double n1_ = 0;
  double n2_ = 0;
  double tie_term_ = 0;  // sum over tie groups of t^3 - t
};

}  // namespace

MannWhitneyResult MannWhitneyGreater(const metrics::LatencyHistogram& canary,
                                     const metrics::LatencyHistogram& baseline) {
  RankSum sum;
  for (int i = 0; i < metrics::kLatencyBuckets; ++i) {
    sum.AddTieGroup(static_cast<double>(canary[i]), static_cast<double>(baseline[i]));
  }
  return sum.Result();
}

MannWhitneyResult MannWhitneyGreater(std::span<const double> canary,
                                     std::span<const double> baseline) {
  std::vector<std::pair<double, bool>> samples;  // (value, is the canary's)
  samples.reserve(canary.size() + baseline.size());
  for (double x : canary) {
    if (!std::isnan(x)) samples.emplace_back(x, true);
  }
  for (double x : baseline) {
    if (!std::isnan(x)) samples.emplace_back(x, false);
  }
  std::sort(samples.begin(), samples.end());
  RankSum sum;
  for (std::size_t i = 0; i < samples.size();) {
    double canary_ties = 0, baseline_ties = 0;
    const double value = samples[i].first;
    for (; i < samples.size() && samples[i].first == value; ++i) {
      (samples[i].second ? canary_ties : baseline_ties) += 1;
    }
    sum.AddTieGroup(canary_ties, baseline_ties);
  }
  return sum.Result();
}

}  // namespace slipway::analysis
