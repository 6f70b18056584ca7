// Pieces shared by the store's translation units (release_store.cc, rollout_store.cc).
// Internal to the state module.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/result.h"
#include "state/sqlite_statement.h"

namespace slipway::state {

// RFC 3339 UTC with milliseconds, from the wall clock: records are read by people.
inline std::string Now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  time_t secs = static_cast<time_t>(ms.count() / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];  // roomier than needed: the compiler cannot prove the fields are in range
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count() % 1000));
  return buf;
}

// Runs a query and collects every row with `read`.
template <typename T, typename Read>
Result<std::vector<T>> Collect(Statement& s, Read read) {
  std::vector<T> rows;
  for (;;) {
    auto row = s.Step();
    if (!row) return row.error();
    if (!*row) return rows;
    rows.push_back(read(s));
  }
}

}  // namespace slipway::state
