#include "rollout/deploy_history_metrics.h"

#include <algorithm>
#include <cstdint>

namespace slipway::rollout {
namespace {

constexpr std::array<state::Outcome, 3> kFinalOutcomes = {
    state::Outcome::kSucceeded, state::Outcome::kFailed, state::Outcome::kAborted};

struct DurationHistogram {
  std::array<std::uint64_t, kDeployDurationBounds.size() + 1> counts{};
  double sum = 0;
  std::uint64_t total = 0;

  void Add(double seconds) {
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(kDeployDurationBounds.begin(), kDeployDurationBounds.end(), seconds) -
        kDeployDurationBounds.begin());  // the first bound >= seconds: le is inclusive
    ++counts[bucket];
    sum += seconds;
    ++total;
  }
};

}  // namespace

void WriteDeployHistoryMetrics(metrics::ExpositionWriter& out, std::string_view app,
                               const std::vector<state::ReleaseSummary>& history) {
  std::array<DurationHistogram, kFinalOutcomes.size()> durations{};
  std::uint64_t rollbacks = 0;
  bool deploying = false;
  for (const state::ReleaseSummary& r : history) {
    if (r.rollback) ++rollbacks;
    if (r.outcome == state::Outcome::kDeploying) {
      deploying = true;
      continue;
    }
    const auto at = std::find(kFinalOutcomes.begin(), kFinalOutcomes.end(), r.outcome);
    // A clock step back between created_at and finished_at counts as 0 s, not negative.
    const double seconds =
        static_cast<double>(std::max<std::int64_t>(r.duration_ms.value_or(0), 0)) / 1e3;
    durations[static_cast<std::size_t>(at - kFinalOutcomes.begin())].Add(seconds);
  }
  for (std::size_t i = 0; i < kFinalOutcomes.size(); ++i) {
    out.Counter("slipway_deploys_total",
                "Finished deploys (releases) by outcome, from the stored release history.",
                {{"app", app}, {"outcome", state::OutcomeName(kFinalOutcomes[i])}},
                durations[i].total);
  }
  out.Counter("slipway_rollbacks_total",
              "Releases made by `slipway rollback`, from the stored release history.",
              {{"app", app}}, rollbacks);
  out.Gauge("slipway_deploy_in_progress", "1 while a release of the app is deploying, else 0.",
            {{"app", app}}, std::int64_t{deploying});
  for (std::size_t i = 0; i < kFinalOutcomes.size(); ++i) {
    if (durations[i].total == 0) continue;
    out.Histogram("slipway_deploy_duration_seconds",
                  "Time from a release's creation to its outcome, from the stored history.",
                  {{"app", app}, {"outcome", state::OutcomeName(kFinalOutcomes[i])}},
                  kDeployDurationBounds, durations[i].counts, durations[i].sum);
  }
}

}  // namespace slipway::rollout
