// The rollout side of ReleaseStore: rollout progress, replica identities, analysis results and
// feature flags. Split from release_store.cc to keep each translation unit about one thing.
#include <sqlite3.h>

#include "state/release_store.h"
#include "state/sqlite_statement.h"
#include "state/store_support.h"

namespace slipway::state {
namespace {

constexpr std::string_view kRolloutColumns =
    "app, \"release\", strategy, baseline, phase, step, weight, paused, pause_reason, "
    "step_started_ms, step_elapsed_ms, updated_at";

RolloutRecord ReadRollout(const Statement& s) {
  RolloutRecord r;
  r.app = s.Text(0);
  r.release = s.Int(1);
  r.strategy = s.Text(2);
  r.baseline = s.OptionalInt(3);
  r.phase = s.Text(4);
  r.step = static_cast<int>(s.Int(5));
  r.weight = static_cast<int>(s.Int(6));
  r.paused = s.Int(7) != 0;
  r.pause_reason = s.Text(8);
  r.step_started_ms = s.Int(9);
  r.step_elapsed_ms = s.Int(10);
  r.updated_at = s.Text(11);
  return r;
}

}  // namespace

Status ReleaseStore::SaveRollout(const RolloutRecord& r) {
  auto s =
      Statement::Prepare(db_, "INSERT OR REPLACE INTO rollouts (" + std::string(kRolloutColumns) +
                                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  if (!s) return s.error();
  s->Bind(1, r.app)
      .Bind(2, r.release)
      .Bind(3, r.strategy)
      .Bind(4, r.baseline)
      .Bind(5, r.phase)
      .Bind(6, int64_t{r.step})
      .Bind(7, int64_t{r.weight})
      .Bind(8, int64_t{r.paused ? 1 : 0})
      .Bind(9, r.pause_reason)
      .Bind(10, r.step_started_ms)
      .Bind(11, r.step_elapsed_ms)
      .Bind(12, Now());
  return s->Run();
}

Result<std::optional<RolloutRecord>> ReleaseStore::GetRollout(const std::string& app,
                                                              int64_t release) {
  auto s = Statement::Prepare(db_, "SELECT " + std::string(kRolloutColumns) +
                                       " FROM rollouts WHERE app = ?1 AND \"release\" = ?2");
  if (!s) return s.error();
  s->Bind(1, app).Bind(2, release);
  auto row = s->Step();
  if (!row) return row.error();
  if (!*row) return std::optional<RolloutRecord>();
  return std::optional<RolloutRecord>(ReadRollout(*s));
}

Result<std::vector<RolloutRecord>> ReleaseStore::UnfinishedRollouts() {
  auto s = Statement::Prepare(
      db_, "SELECT " + std::string(kRolloutColumns) +
               " FROM rollouts r WHERE EXISTS (SELECT 1 FROM releases WHERE app = r.app AND "
               "number = r.\"release\" AND outcome = 'deploying') ORDER BY app, \"release\"");
  if (!s) return s.error();
  return Collect<RolloutRecord>(*s, ReadRollout);
}

Status ReleaseStore::SaveReplica(const ReplicaRecord& r) {
  auto s = Statement::Prepare(
      db_,
      "INSERT OR REPLACE INTO replicas (app, name, \"release\", idx, port, pid, start_time, "
      "boot_id, token, ready, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!s) return s.error();
  s->Bind(1, r.app)
      .Bind(2, r.name)
      .Bind(3, r.release)
      .Bind(4, int64_t{r.index})
      .Bind(5, int64_t{r.port})
      .Bind(6, int64_t{r.pid})
      .Bind(7, static_cast<int64_t>(r.start_time))
      .Bind(8, r.boot_id)
      .Bind(9, r.token)
      .Bind(10, int64_t{r.ready ? 1 : 0})
      .Bind(11, Now());
  return s->Run();
}

Status ReleaseStore::DeleteReplica(const std::string& app, const std::string& name) {
  auto s = Statement::Prepare(db_, "DELETE FROM replicas WHERE app = ?1 AND name = ?2");
  if (!s) return s.error();
  s->Bind(1, app).Bind(2, name);
  return s->Run();
}

Result<std::vector<ReplicaRecord>> ReleaseStore::ListReplicas() {
  auto s = Statement::Prepare(db_,
                              "SELECT app, name, \"release\", idx, port, pid, start_time, boot_id, "
                              "token, ready FROM replicas ORDER BY app, \"release\", idx");
  if (!s) return s.error();
  return Collect<ReplicaRecord>(*s, [](const Statement& row) {
    ReplicaRecord r;
    r.app = row.Text(0);
    r.name = row.Text(1);
    r.release = row.Int(2);
    r.index = static_cast<int>(row.Int(3));
    r.port = static_cast<int>(row.Int(4));
    r.pid = static_cast<int>(row.Int(5));
    r.start_time = static_cast<uint64_t>(row.Int(6));
    r.boot_id = row.Text(7);
    r.token = row.Text(8);
    r.ready = row.Int(9) != 0;
    return r;
  });
}

Status ReleaseStore::AppendAnalysis(const AnalysisRecord& r) {
  auto s = Statement::Prepare(db_,
                              "INSERT INTO analysis_results (app, \"release\", at, step, verdict, "
                              "summary, checks_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!s) return s.error();
  s->Bind(1, r.app)
      .Bind(2, r.release)
      .Bind(3, Now())
      .Bind(4, int64_t{r.step})
      .Bind(5, r.verdict)
      .Bind(6, r.summary)
      .Bind(7, r.checks_json);
  return s->Run();
}

Result<std::vector<AnalysisRecord>> ReleaseStore::RecentAnalysis(const std::string& app,
                                                                 int64_t release, int limit) {
  if (limit <= 0) return Error{"state: analysis limit must be positive"};
  auto s = Statement::Prepare(
      db_,
      "SELECT * FROM (SELECT id, app, \"release\", at, step, verdict, summary, checks_json FROM "
      "analysis_results WHERE app = ?1 AND \"release\" = ?2 ORDER BY id DESC LIMIT ?3) ORDER BY "
      "id");
  if (!s) return s.error();
  s->Bind(1, app).Bind(2, release).Bind(3, int64_t{limit});
  return Collect<AnalysisRecord>(*s, [](const Statement& row) {
    AnalysisRecord r;
    r.id = row.Int(0);
    r.app = row.Text(1);
    r.release = row.Int(2);
    r.at = row.Text(3);
    r.step = static_cast<int>(row.Int(4));
    r.verdict = row.Text(5);
    r.summary = row.Text(6);
    r.checks_json = row.Text(7);
    return r;
  });
}

Status ReleaseStore::SetFlag(const std::string& app, const std::string& name,
                             const std::string& value, const std::string& who,
                             const std::string& spec_value) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return tx.error();
  std::string before = spec_value;
  {
    auto old = Statement::Prepare(db_, "SELECT value FROM flags WHERE app = ?1 AND name = ?2");
    if (!old) return old.error();
    old->Bind(1, app).Bind(2, name);
    auto row = old->Step();
    if (!row) return row.error();
    if (*row) before = old->Text(0);
  }
  auto s = Statement::Prepare(db_,
                              "INSERT OR REPLACE INTO flags (app, name, value, updated_by, "
                              "updated_at) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!s) return s.error();
  if (auto r = s->Bind(1, app).Bind(2, name).Bind(3, value).Bind(4, who).Bind(5, Now()).Run(); !r) {
    return r;
  }
  std::string message = "flag " + name + " set to " + value +
                        (before.empty() ? "" : " (was " + before + ")") + " by " + who;
  if (auto e = AppendEvent(app, 0, "flag.changed", message); !e) return e.error();
  return tx->Commit();
}

Result<std::vector<FlagRecord>> ReleaseStore::ListFlags(const std::string& app) {
  auto s = Statement::Prepare(
      db_, "SELECT name, value, updated_by, updated_at FROM flags WHERE app = ?1 ORDER BY name");
  if (!s) return s.error();
  s->Bind(1, app);
  return Collect<FlagRecord>(*s, [](const Statement& row) {
    return FlagRecord{row.Text(0), row.Text(1), row.Text(2), row.Text(3)};
  });
}

}  // namespace slipway::state
