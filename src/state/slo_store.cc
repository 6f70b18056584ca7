#include "state/slo_store.h"

#include <sqlite3.h>

#include "state/sqlite_statement.h"
#include "state/store_support.h"

namespace slipway::state {

SloStore::SloStore(ReleaseStore& store) : db_(store.db_) {}

Status SloStore::SaveMinutes(const std::vector<SloMinuteRecord>& minutes) {
  if (minutes.empty()) return Ok();
  auto tx = Transaction::Begin(db_);
  if (!tx) return tx.error();
  for (const SloMinuteRecord& m : minutes) {
    auto s = Statement::Prepare(
        db_,
        "INSERT OR REPLACE INTO slo_minutes (app, minute, requests, errors, slow, "
        "sampled_seconds, down_seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!s) return s.error();
    s->Bind(1, m.app)
        .Bind(2, m.minute)
        .Bind(3, m.requests)
        .Bind(4, m.errors)
        .Bind(5, m.slow)
        .Bind(6, m.sampled_seconds)
        .Bind(7, m.down_seconds);
    if (auto st = s->Run(); !st) return st;
  }
  return tx->Commit();
}

Result<std::vector<SloMinuteRecord>> SloStore::MinutesSince(int64_t minute) {
  auto s = Statement::Prepare(db_,
                              "SELECT app, minute, requests, errors, slow, sampled_seconds, "
                              "down_seconds FROM slo_minutes WHERE minute >= ?1 ORDER BY app, "
                              "minute");
  if (!s) return s.error();
  s->Bind(1, minute);
  return Collect<SloMinuteRecord>(*s, [](const Statement& row) {
    SloMinuteRecord m;
    m.app = row.Text(0);
    m.minute = row.Int(1);
    m.requests = row.Int(2);
    m.errors = row.Int(3);
    m.slow = row.Int(4);
    m.sampled_seconds = row.Int(5);
    m.down_seconds = row.Int(6);
    return m;
  });
}

Result<int64_t> SloStore::PruneBefore(int64_t minute) {
  auto s = Statement::Prepare(db_, "DELETE FROM slo_minutes WHERE minute < ?1");
  if (!s) return s.error();
  s->Bind(1, minute);
  if (auto st = s->Run(); !st) return st.error();
  return static_cast<int64_t>(sqlite3_changes(db_));
}

}  // namespace slipway::state
