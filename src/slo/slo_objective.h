// The SLO arithmetic, pure: an app's objectives (from the spec's `slo` section), the counts they
// are judged on (per minute, and per second for short windows), and for a window the SLI, the
// error budget left and the burn rate. No clock, no I/O: SloLedger and the tests feed it.
//
// Every objective counts good events out of all events:
//   availability  minutes: a minute is good when the app could serve throughout (every second
//                 sampled had a ready replica in the pool) and at most `minute_error_rate` of its
//                 requests answered 5xx; minutes nobody looked at (daemon down, app stopped, before
//                 the first release served) are not counted at all.
//   latency       requests: good when it took at most the threshold (pNN: target NN%).
//   error_rate    requests: good when it did not answer 5xx (target 1 - error_rate).
// SLI = good / all; error budget = 1 - target; burn rate = (1 - SLI) / budget (1 spends the
// budget exactly over the window); budget remaining = 1 - burn rate (negative when overspent).
// A window without events has no SLI, budget or burn rate (nullopt), never 100%.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "spec/app_spec.h"

namespace slipway::slo {

enum class SloKind { kAvailability, kLatency, kErrorRate };
const char* SloKindName(SloKind kind);  // "availability", "latency", "error_rate"

struct Objective {
  SloKind kind = SloKind::kErrorRate;
  double target = 0.99;  // share of good events, 0 < target < 1
  // kAvailability: a minute whose 5xx share is above this is bad.
  double minute_error_rate = 0.05;
  // kLatency: what was written (p95: 300ms); the counts come with the threshold applied.
  int percentile = 0;
  std::chrono::milliseconds threshold{0};

  double budget() const { return 1 - target; }
  // "99.9% of minutes served", "95% of requests within 300ms", "99% of requests without 5xx".
  std::string Describe() const;
};

// The spec's objectives, in the order availability, latency, error_rate.
std::vector<Objective> ObjectivesOf(const spec::SloSpec& slo);

// One app's requests and availability in one wall-clock minute.
struct MinuteCounts {
  std::int64_t minute = 0;  // Unix time / 60
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;  // 5xx answers, the proxy's own 502/503/504 included
  std::uint64_t slow = 0;    // slower than the latency objective's threshold
  std::uint32_t sampled_seconds = 0;
  std::uint32_t down_seconds = 0;  // sampled seconds without a ready replica in the pool
};

// One second's requests (the short windows of request-based objectives).
struct SecondCounts {
  std::int64_t second = 0;  // Unix time
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t slow = 0;
};

struct Tally {
  std::uint64_t good = 0;
  std::uint64_t total = 0;
  std::uint64_t bad() const { return total - std::min(good, total); }
};

// Whether an availability minute counts, and whether it is good.
bool MinuteCounted(const MinuteCounts& m);
bool MinuteGood(const Objective& objective, const MinuteCounts& m);

// Good and total events of `objective` in these minutes (availability: minutes; the others:
// requests) and in these seconds (request-based objectives only; availability counts nothing).
Tally TallyMinutes(const Objective& objective, std::span<const MinuteCounts> minutes);
Tally TallySeconds(const Objective& objective, std::span<const SecondCounts> seconds);

struct Judgement {
  Tally tally;
  std::optional<double> sli;  // good / total
  std::optional<double> budget_remaining;
  std::optional<double> burn_rate;
};
Judgement Judge(const Objective& objective, const Tally& tally);

// The fixed windows of `slipway status`, the API and /metrics: 1h, 1d, 30d.
struct SloWindow {
  const char* name;
  std::chrono::seconds length;
};
inline constexpr SloWindow kReportWindows[] = {{"1h", std::chrono::hours(1)},
                                               {"1d", std::chrono::hours(24)},
                                               {"30d", std::chrono::hours(24 * 30)}};
inline constexpr std::chrono::seconds kLongestWindow = std::chrono::hours(24 * 30);

}  // namespace slipway::slo
