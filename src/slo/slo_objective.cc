#include "slo/slo_objective.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/duration.h"

namespace slipway::slo {

const char* SloKindName(SloKind kind) {
  switch (kind) {
    case SloKind::kAvailability:
      return "availability";
    case SloKind::kLatency:
      return "latency";
    case SloKind::kErrorRate:
      break;
  }
  return "error_rate";
}

std::string Objective::Describe() const {
  const std::string share = fmt::format("{:g}%", target * 100);
  switch (kind) {
    case SloKind::kAvailability:
      return fmt::format("{} of minutes served (5xx share at most {:g}% in a minute)", share,
                         minute_error_rate * 100);
    case SloKind::kLatency:
      return fmt::format("{} of requests within {} (p{})", share, FormatDuration(threshold),
                         percentile);
    case SloKind::kErrorRate:
      break;
  }
  return fmt::format("{} of requests without a 5xx answer", share);
}

std::vector<Objective> ObjectivesOf(const spec::SloSpec& slo) {
  std::vector<Objective> out;
  if (slo.availability) {
    out.push_back(Objective{.kind = SloKind::kAvailability,
                            .target = slo.availability->target,
                            .minute_error_rate = slo.availability->minute_error_rate});
  }
  if (slo.latency) {
    out.push_back(Objective{.kind = SloKind::kLatency,
                            .target = slo.latency->target,
                            .percentile = slo.latency->percentile,
                            .threshold = slo.latency->threshold});
  }
  if (slo.error_rate) {
    out.push_back(Objective{.kind = SloKind::kErrorRate, .target = 1 - *slo.error_rate});
  }
  return out;
}

bool MinuteCounted(const MinuteCounts& m) { return m.sampled_seconds > 0; }

bool MinuteGood(const Objective& objective, const MinuteCounts& m) {
  if (!MinuteCounted(m) || m.down_seconds > 0) return false;
  if (m.requests == 0) return true;
  // errors / requests <= minute_error_rate, without dividing.
  return static_cast<double>(std::min(m.errors, m.requests)) <=
         objective.minute_error_rate * static_cast<double>(m.requests);
}

namespace {

template <typename Counts>
void AddRequests(const Objective& objective, const Counts& c, Tally& t) {
  const std::uint64_t bad = objective.kind == SloKind::kLatency ? c.slow : c.errors;
  t.total += c.requests;
  t.good += c.requests - std::min(bad, c.requests);
}

}  // namespace

Tally TallyMinutes(const Objective& objective, std::span<const MinuteCounts> minutes) {
  Tally t;
  for (const MinuteCounts& m : minutes) {
    if (objective.kind == SloKind::kAvailability) {
      if (!MinuteCounted(m)) continue;
      ++t.total;
      if (MinuteGood(objective, m)) ++t.good;
    } else {
      AddRequests(objective, m, t);
    }
  }
  return t;
}

Tally TallySeconds(const Objective& objective, std::span<const SecondCounts> seconds) {
  Tally t;
  if (objective.kind == SloKind::kAvailability) return t;
  for (const SecondCounts& s : seconds) AddRequests(objective, s, t);
  return t;
}

Judgement Judge(const Objective& objective, const Tally& tally) {
  Judgement j;
  j.tally = tally;
  if (tally.total == 0) return j;
  const double total = static_cast<double>(tally.total);
  const double bad_share = static_cast<double>(tally.bad()) / total;
  j.sli = static_cast<double>(tally.total - tally.bad()) / total;
  j.burn_rate = bad_share / objective.budget();
  j.budget_remaining = 1 - *j.burn_rate;
  return j;
}

}  // namespace slipway::slo
