// SloLedger: one app's SLO counts in memory: a row per wall-clock minute for the last 30 days
// (the long windows; stored by SloStore) and a ring of the last 600 seconds (request-based
// windows of up to 10 minutes, second by second). Fed by SloSampler; read by reports and the
// burn-rate alert. Not thread-safe (the controller thread).
//
// Windows: up to 10 minutes, a request-based objective sums the seconds (now - W, now]; longer
// ones, and availability always, sum whole minutes: the current one and the ceil(W / 1m) - 1
// before it (so 1h is the last 59 minutes and what the current one has so far).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "slo/slo_objective.h"

namespace slipway::slo {

class SloLedger {
 public:
  static constexpr int kSecondSlots = 600;

  // Minutes read back from the store (a restart): added to what the ledger holds, which is
  // nothing at start-up.
  void Restore(std::span<const MinuteCounts> minutes);
  // Requests that ended since the previous call, counted in `unix_second` (and its minute).
  void AddTraffic(std::int64_t unix_second, std::uint64_t requests, std::uint64_t errors,
                  std::uint64_t slow);
  // Whether the app could serve at `unix_second`; only the first look at a second counts.
  void AddServingSample(std::int64_t unix_second, bool down);

  // The events of `objective` over `window` ending at `now_second` (see above).
  Tally Over(const Objective& objective, std::chrono::seconds window,
             std::int64_t now_second) const;
  // Minutes changed since the previous call (to store), oldest first.
  std::vector<MinuteCounts> TakeDirty();
  // Forgets minutes before `minute`.
  void PruneBefore(std::int64_t minute);
  const std::vector<MinuteCounts>& minutes() const { return minutes_; }

 private:
  MinuteCounts& MinuteAt(std::int64_t minute);

  std::vector<MinuteCounts> minutes_;  // ascending by minute
  std::array<SecondCounts, kSecondSlots> seconds_{};
  std::set<std::int64_t> dirty_;
  std::optional<std::int64_t> last_sampled_second_;
};

// floor(t / 60) for negative t too.
inline std::int64_t MinuteOf(std::int64_t unix_second) {
  return unix_second >= 0 ? unix_second / 60 : -((-unix_second + 59) / 60);
}

}  // namespace slipway::slo
