// SloStore: the per-minute counts the SLOs are computed from (schema v4, table slo_minutes): one
// row per app per wall-clock minute, rewritten while its minute is current, kept 30 days and a
// margin. Shares the ReleaseStore's connection; same thread rule: the controller thread only.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "state/release_store.h"

namespace slipway::state {

// One app's traffic and availability in one minute.
struct SloMinuteRecord {
  std::string app;
  int64_t minute = 0;  // Unix time / 60 (UTC minutes since the epoch)
  int64_t requests = 0;
  int64_t errors = 0;           // of those, 5xx answers (the proxy's own included)
  int64_t slow = 0;             // of those, slower than the latency objective's threshold
  int64_t sampled_seconds = 0;  // seconds in which the daemon looked at the app (0..60)
  int64_t down_seconds = 0;     // of those, seconds without a ready replica to serve
};

class SloStore {
 public:
  // `store` must outlive the SloStore.
  explicit SloStore(ReleaseStore& store);

  // Inserts or replaces each row (app, minute), in one transaction.
  Status SaveMinutes(const std::vector<SloMinuteRecord>& minutes);
  // Every app's rows from `minute` on, by app then minute.
  Result<std::vector<SloMinuteRecord>> MinutesSince(int64_t minute);
  // Deletes rows older than `minute`; returns how many.
  Result<int64_t> PruneBefore(int64_t minute);

 private:
  sqlite3* db_;
};

}  // namespace slipway::state
