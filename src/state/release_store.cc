#include "state/release_store.h"

#include <sqlite3.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <string_view>

#include "state/sqlite_statement.h"
#include "state/store_support.h"

namespace slipway::state {
namespace {

// Schema migrations, applied in order; PRAGMA user_version counts how many have run.
// Append new ones; never edit one that has shipped.
//
// The immutability of releases and events is enforced here, by triggers, so that no code
// path (nor an operator with the sqlite3 shell) can rewrite history by accident.
constexpr std::string_view kMigrations[] = {
    // v1
    R"sql(
CREATE TABLE apps (
  name TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),
  created_at TEXT NOT NULL,
  current_release INTEGER,
  desired_state TEXT NOT NULL DEFAULT 'running' CHECK (desired_state IN ('running', 'stopped')),
  FOREIGN KEY (name, current_release) REFERENCES releases (app, number)
) STRICT;

CREATE TABLE releases (
  app TEXT NOT NULL REFERENCES apps (name),
  number INTEGER NOT NULL CHECK (number > 0),
  spec_yaml TEXT NOT NULL,
  spec_file TEXT NOT NULL,
  base_dir TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  rollback_of INTEGER,
  outcome TEXT NOT NULL DEFAULT 'deploying'
    CHECK (outcome IN ('deploying', 'succeeded', 'failed')),
  reason TEXT NOT NULL DEFAULT '',
  finished_at TEXT,
  PRIMARY KEY (app, number),
  FOREIGN KEY (app, rollback_of) REFERENCES releases (app, number),
  CHECK ((outcome = 'deploying') = (finished_at IS NULL))
) STRICT;

CREATE TRIGGER releases_insert_deploying BEFORE INSERT ON releases
WHEN NEW.outcome <> 'deploying'
BEGIN
  SELECT RAISE(ABORT, 'a release starts as deploying');
END;

CREATE TRIGGER releases_no_delete BEFORE DELETE ON releases
BEGIN
  SELECT RAISE(ABORT, 'releases are immutable: they cannot be deleted');
END;

CREATE TRIGGER releases_immutable
BEFORE UPDATE OF app, number, spec_yaml, spec_file, base_dir, created_by, created_at, rollback_of
ON releases
BEGIN
  SELECT RAISE(ABORT, 'releases are immutable: only outcome, reason and finished_at change');
END;

CREATE TRIGGER releases_outcome_once BEFORE UPDATE OF outcome ON releases
WHEN NOT (OLD.outcome = 'deploying' AND NEW.outcome IN ('succeeded', 'failed'))
BEGIN
  SELECT RAISE(ABORT, 'a release outcome changes once, from deploying to succeeded or failed');
END;

CREATE TRIGGER releases_final_frozen BEFORE UPDATE OF reason, finished_at ON releases
WHEN OLD.outcome <> 'deploying'
BEGIN
  SELECT RAISE(ABORT, 'a finished release cannot be changed');
END;

CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  app TEXT NOT NULL,
  "release" INTEGER NOT NULL DEFAULT 0,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  message TEXT NOT NULL
) STRICT;

CREATE INDEX events_by_app ON events (app, id);
CREATE INDEX events_by_release ON events (app, "release", id);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only: they cannot be changed');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only: they cannot be deleted');
END;
)sql",
    // v2: releases may end "aborted" (a canary or blue-green rollout stopped by its analysis or
    // an operator). SQLite cannot change a CHECK in place: the table is rebuilt (with foreign
    // keys off, see Migrate) and its triggers made again.
    R"sql(
CREATE TABLE releases_v2 (
  app TEXT NOT NULL REFERENCES apps (name),
  number INTEGER NOT NULL CHECK (number > 0),
  spec_yaml TEXT NOT NULL,
  spec_file TEXT NOT NULL,
  base_dir TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  rollback_of INTEGER,
  outcome TEXT NOT NULL DEFAULT 'deploying'
    CHECK (outcome IN ('deploying', 'succeeded', 'failed', 'aborted')),
  reason TEXT NOT NULL DEFAULT '',
  finished_at TEXT,
  PRIMARY KEY (app, number),
  FOREIGN KEY (app, rollback_of) REFERENCES releases (app, number),
  CHECK ((outcome = 'deploying') = (finished_at IS NULL))
) STRICT;
INSERT INTO releases_v2 SELECT * FROM releases;
DROP TABLE releases;
ALTER TABLE releases_v2 RENAME TO releases;

CREATE TRIGGER releases_insert_deploying BEFORE INSERT ON releases
WHEN NEW.outcome <> 'deploying'
BEGIN
  SELECT RAISE(ABORT, 'a release starts as deploying');
END;

CREATE TRIGGER releases_no_delete BEFORE DELETE ON releases
BEGIN
  SELECT RAISE(ABORT, 'releases are immutable: they cannot be deleted');
END;

CREATE TRIGGER releases_immutable
BEFORE UPDATE OF app, number, spec_yaml, spec_file, base_dir, created_by, created_at, rollback_of
ON releases
BEGIN
  SELECT RAISE(ABORT, 'releases are immutable: only outcome, reason and finished_at change');
END;

CREATE TRIGGER releases_outcome_once BEFORE UPDATE OF outcome ON releases
WHEN NOT (OLD.outcome = 'deploying' AND NEW.outcome IN ('succeeded', 'failed', 'aborted'))
BEGIN
  SELECT RAISE(ABORT, 'a release outcome changes once, from deploying to a final outcome');
END;

CREATE TRIGGER releases_final_frozen BEFORE UPDATE OF reason, finished_at ON releases
WHEN OLD.outcome <> 'deploying'
BEGIN
  SELECT RAISE(ABORT, 'a finished release cannot be changed');
END;

-- The progress of a canary or blue-green rollout, written before each transition takes effect,
-- so that a restarted daemon continues from the step it was on.
CREATE TABLE rollouts (
  app TEXT NOT NULL,
  "release" INTEGER NOT NULL,
  strategy TEXT NOT NULL CHECK (strategy IN ('rolling', 'blue-green', 'canary')),
  baseline INTEGER,
  phase TEXT NOT NULL,
  step INTEGER NOT NULL DEFAULT 0 CHECK (step >= 0),
  weight INTEGER NOT NULL DEFAULT 0 CHECK (weight BETWEEN 0 AND 100),
  paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  pause_reason TEXT NOT NULL DEFAULT '',
  step_started_ms INTEGER NOT NULL DEFAULT 0,
  step_elapsed_ms INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (app, "release"),
  FOREIGN KEY (app, "release") REFERENCES releases (app, number)
) STRICT;

-- Every analysis evaluation of a rollout, append-only.
CREATE TABLE analysis_results (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  app TEXT NOT NULL,
  "release" INTEGER NOT NULL,
  at TEXT NOT NULL,
  step INTEGER NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'inconclusive')),
  summary TEXT NOT NULL,
  checks_json TEXT NOT NULL,
  FOREIGN KEY (app, "release") REFERENCES releases (app, number)
) STRICT;
CREATE INDEX analysis_by_release ON analysis_results (app, "release", id);
CREATE TRIGGER analysis_no_update BEFORE UPDATE ON analysis_results
BEGIN
  SELECT RAISE(ABORT, 'analysis results are append-only');
END;

-- The replica processes that run now, with what identifies each beyond its pid, so that a
-- restarted daemon re-adopts them instead of starting new ones.
CREATE TABLE replicas (
  app TEXT NOT NULL,
  name TEXT NOT NULL,
  "release" INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  port INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  start_time INTEGER NOT NULL,
  boot_id TEXT NOT NULL,
  token TEXT NOT NULL,
  ready INTEGER NOT NULL DEFAULT 0 CHECK (ready IN (0, 1)),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (app, name)
) STRICT;

-- Feature flags as changed at run time (`slipway flag set`); the spec gives the initial values.
CREATE TABLE flags (
  app TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (app, name)
) STRICT;
)sql",
    // v3: alerts (alert_store.cc). Alert instances and group states are current state, rewritten
    // as they change; notifications are the outbox and the record of every delivery: a row moves
    // once from pending to delivered, superseded or dead_letter (the dead-letter record).
    R"sql(
CREATE INDEX events_by_kind ON events (app, kind, at);

CREATE TABLE alerts (
  app TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  rule TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
  labels_json TEXT NOT NULL,
  annotations_json TEXT NOT NULL,
  active_since_ms INTEGER NOT NULL,
  fired_at_ms INTEGER,
  resolved_at_ms INTEGER,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (app, fingerprint)
) STRICT;

-- What each notification group last sent (its firing alerts), so that a restarted daemon neither
-- re-sends a firing alert nor forgets to resolve one.
CREATE TABLE alert_groups (
  group_key TEXT PRIMARY KEY NOT NULL,
  app TEXT NOT NULL,
  state_json TEXT NOT NULL,
  last_notified_ms INTEGER NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE alert_notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_key TEXT NOT NULL,
  app TEXT NOT NULL,
  receiver TEXT NOT NULL,
  url TEXT NOT NULL,
  alert_status TEXT NOT NULL CHECK (alert_status IN ('firing', 'resolved')),
  body TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'delivered', 'superseded', 'dead_letter')),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  timeout_ms INTEGER NOT NULL,
  initial_backoff_ms INTEGER NOT NULL,
  max_backoff_ms INTEGER NOT NULL,
  give_up_at_ms INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  finished_at TEXT,
  CHECK ((status = 'pending') = (finished_at IS NULL))
) STRICT;
CREATE INDEX alert_notifications_by_status ON alert_notifications (status, id);
CREATE INDEX alert_notifications_by_group ON alert_notifications (group_key, receiver, id);
CREATE INDEX alert_notifications_by_app ON alert_notifications (app, id);

-- A final notification stays final; the one exception is an attempt already under way when a
-- newer notification superseded it, which may still end delivered.
CREATE TRIGGER alert_notifications_final BEFORE UPDATE OF status ON alert_notifications
WHEN NOT (OLD.status = 'pending' OR (OLD.status = 'superseded' AND NEW.status = 'delivered'))
BEGIN
  SELECT RAISE(ABORT, 'a delivered or dead-lettered notification cannot change');
END;

CREATE TRIGGER alert_notifications_no_delete BEFORE DELETE ON alert_notifications
BEGIN
  SELECT RAISE(ABORT, 'alert notifications are a record: they cannot be deleted');
END;
)sql",
    // v4: SLOs (slo_store.cc). Each app's traffic and availability per wall-clock minute, the
    // counts the 1h, 1d and 30d windows are summed from; the current minute is rewritten as it
    // fills; rows older than 30 days (and a margin) are pruned.
    R"sql(
CREATE TABLE slo_minutes (
  app TEXT NOT NULL,
  minute INTEGER NOT NULL,
  requests INTEGER NOT NULL CHECK (requests >= 0),
  errors INTEGER NOT NULL CHECK (errors >= 0),
  slow INTEGER NOT NULL CHECK (slow >= 0),
  sampled_seconds INTEGER NOT NULL CHECK (sampled_seconds BETWEEN 0 AND 60),
  down_seconds INTEGER NOT NULL CHECK (down_seconds BETWEEN 0 AND sampled_seconds),
  PRIMARY KEY (app, minute)
) STRICT, WITHOUT ROWID;
CREATE INDEX slo_minutes_by_minute ON slo_minutes (minute);
)sql",
    // v5: the image a docker release runs, pinned by ID when it is deployed (a rollback copies
    // it), set once while the release deploys and never changed after.
    R"sql(
ALTER TABLE releases ADD COLUMN image_id TEXT;

CREATE TRIGGER releases_image_once BEFORE UPDATE OF image_id ON releases
WHEN OLD.image_id IS NOT NULL OR OLD.outcome <> 'deploying'
BEGIN
  SELECT RAISE(ABORT, 'a release pins its image once, while it deploys');
END;
)sql",
};

constexpr int kBusyTimeoutMs = 5000;

std::string ReleaseName(const std::string& app, int64_t number) {
  return app + " release " + std::to_string(number);
}

Outcome ParseOutcome(const std::string& s) {
  if (s == "succeeded") return Outcome::kSucceeded;
  if (s == "failed") return Outcome::kFailed;
  if (s == "aborted") return Outcome::kAborted;
  return Outcome::kDeploying;  // the schema's CHECK admits nothing else
}

const char* DesiredName(DesiredState d) {
  return d == DesiredState::kStopped ? "stopped" : "running";
}

constexpr std::string_view kReleaseColumns =
    "app, number, spec_yaml, spec_file, base_dir, created_by, created_at, rollback_of, "
    "outcome, reason, finished_at, image_id";

Release ReadRelease(const Statement& s) {
  Release r;
  r.app = s.Text(0);
  r.number = s.Int(1);
  r.spec_yaml = s.Text(2);
  r.spec_file = s.Text(3);
  r.base_dir = s.Text(4);
  r.created_by = s.Text(5);
  r.created_at = s.Text(6);
  r.rollback_of = s.OptionalInt(7);
  r.outcome = ParseOutcome(s.Text(8));
  r.reason = s.Text(9);
  r.finished_at = s.Text(10);
  r.image_id = s.Text(11);
  return r;
}

constexpr std::string_view kAppColumns = "name, created_at, current_release, desired_state";

AppRecord ReadApp(const Statement& s) {
  AppRecord a;
  a.name = s.Text(0);
  a.created_at = s.Text(1);
  a.current_release = s.OptionalInt(2);
  a.desired = s.Text(3) == "stopped" ? DesiredState::kStopped : DesiredState::kRunning;
  return a;
}

Result<int64_t> QueryInt(sqlite3* db, std::string_view sql) {
  auto s = Statement::Prepare(db, sql);
  if (!s) return s.error();
  auto row = s->Step();
  if (!row) return row.error();
  if (!*row) return Error{"state: no result from \"" + std::string(sql) + "\""};
  return s->Int(0);
}

Status Migrate(sqlite3* db) {
  auto version = QueryInt(db, "PRAGMA user_version");
  if (!version) return version.error();
  const int64_t known = std::size(kMigrations);
  if (*version > known) {
    return Error{"state: the database has schema version " + std::to_string(*version) +
                 ", newer than this slipway knows (" + std::to_string(known) +
                 "); upgrade slipway"};
  }
  // A migration that rebuilds a table needs foreign keys off (SQLite ignores the pragma inside a
  // transaction); foreign_key_check below proves the rebuilt tables still agree.
  if (*version < known) {
    if (auto s = Exec(db, "PRAGMA foreign_keys = OFF"); !s) return s;
  }
  for (int64_t v = *version; v < known; ++v) {
    auto tx = Transaction::Begin(db);
    if (!tx) return tx.error();
    if (auto s = Exec(db, kMigrations[v]); !s) {
      return Error{"state: migration to schema v" + std::to_string(v + 1) +
                   " failed: " + s.error().message};
    }
    // PRAGMA takes no bound parameters; v + 1 is our own integer.
    if (auto s = Exec(db, "PRAGMA user_version = " + std::to_string(v + 1)); !s) return s;
    if (auto s = tx->Commit(); !s) return s;
  }
  if (auto s = Exec(db, "PRAGMA foreign_keys = ON"); !s) return s;
  auto broken = QueryInt(db, "SELECT count(*) FROM pragma_foreign_key_check");
  if (!broken) return broken.error();
  if (*broken != 0) {
    return Error{"state: " + std::to_string(*broken) + " rows break a foreign key after migration"};
  }
  return Ok();
}

}  // namespace

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kDeploying:
      return "deploying";
    case Outcome::kSucceeded:
      return "succeeded";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kAborted:
      return "aborted";
  }
  return "deploying";
}

Result<std::unique_ptr<ReleaseStore>> ReleaseStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e{"state: cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))};
    sqlite3_close(db);
    return e;
  }
  // Owns db from here on, so every early return below closes it.
  std::unique_ptr<ReleaseStore> store(new ReleaseStore(db));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  sqlite3_extended_result_codes(db, 1);

  auto fail = [&](const Error& e) {
    std::string_view message = e.message;
    if (message.starts_with("state: ")) message.remove_prefix(7);
    return Error{"state: " + path + ": " + std::string(message)};
  };
  {
    // The first statement that reads the file; a file that is not a database fails here.
    // Scoped: a statement still holding a row would make the migrations' COMMIT fail.
    auto mode = Statement::Prepare(db, "PRAGMA journal_mode = WAL");
    if (!mode) return fail(mode.error());
    auto row = mode->Step();
    if (!row) return fail(row.error());
    std::string journal = *row ? mode->Text(0) : "";
    if (journal != "wal" && journal != "memory") {  // "memory" for ":memory:" databases
      return fail(Error{"cannot use WAL journal mode (got \"" + journal + "\")"});
    }
  }
  if (auto s = Exec(db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON"); !s) {
    return fail(s.error());
  }
  if (auto s = Migrate(db); !s) return fail(s.error());
  return store;
}

ReleaseStore::ReleaseStore(sqlite3* db) : db_(db) {}

// Every Statement is finalized by the time the store goes away, so close cannot be busy.
ReleaseStore::~ReleaseStore() { sqlite3_close(db_); }

Result<Release> ReleaseStore::CreateRelease(const NewRelease& nr) {
  if (nr.app.empty()) return Error{"state: a release needs an app name"};
  auto tx = Transaction::Begin(db_);
  if (!tx) return tx.error();
  const std::string now = Now();

  auto app = Statement::Prepare(
      db_, "INSERT INTO apps (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING");
  if (!app) return app.error();
  if (auto s = app->Bind(1, nr.app).Bind(2, now).Run(); !s) return s.error();

  int64_t number = 0;
  {
    // Scoped so that the read is finished before the insert and the commit.
    auto next =
        Statement::Prepare(db_, "SELECT COALESCE(MAX(number), 0) + 1 FROM releases WHERE app = ?1");
    if (!next) return next.error();
    next->Bind(1, nr.app);
    auto row = next->Step();
    if (!row) return row.error();
    number = next->Int(0);
  }

  if (nr.rollback_of) {
    // The foreign key would catch this too, but with a message nobody could act on.
    auto target = GetRelease(nr.app, *nr.rollback_of);
    if (!target) return target.error();
    if (!*target) {
      return Error{"state: cannot roll back to " + ReleaseName(nr.app, *nr.rollback_of) +
                   ": no such release"};
    }
  }

  auto insert = Statement::Prepare(
      db_,
      "INSERT INTO releases (app, number, spec_yaml, spec_file, base_dir, created_by, "
      "created_at, rollback_of, image_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!insert) return insert.error();
  insert->Bind(1, nr.app)
      .Bind(2, number)
      .Bind(3, nr.spec_yaml)
      .Bind(4, nr.spec_file)
      .Bind(5, nr.base_dir)
      .Bind(6, nr.created_by)
      .Bind(7, now)
      .Bind(8, nr.rollback_of);
  if (nr.image_id.empty()) {
    insert->BindNull(9);
  } else {
    insert->Bind(9, nr.image_id);
  }
  if (auto s = insert->Run(); !s) return s.error();
  if (auto s = tx->Commit(); !s) return s.error();

  Release r;
  r.app = nr.app;
  r.number = number;
  r.spec_yaml = nr.spec_yaml;
  r.spec_file = nr.spec_file;
  r.base_dir = nr.base_dir;
  r.created_by = nr.created_by;
  r.created_at = now;
  r.rollback_of = nr.rollback_of;
  r.image_id = nr.image_id;
  return r;
}

Status ReleaseStore::SetReleaseImage(const std::string& app, int64_t number,
                                     const std::string& image_id) {
  auto update =
      Statement::Prepare(db_, "UPDATE releases SET image_id = ?3 WHERE app = ?1 AND number = ?2");
  if (!update) return update.error();
  update->Bind(1, app).Bind(2, number).Bind(3, image_id);
  if (auto s = update->Run(); !s) {
    return Error{"state: cannot pin the image of " + ReleaseName(app, number) + ": " +
                 s.error().message};
  }
  return Ok();
}

Status ReleaseStore::FinishRelease(const std::string& app, int64_t number, Outcome outcome,
                                   const std::string& reason) {
  if (outcome == Outcome::kDeploying) {
    return Error{"state: " + ReleaseName(app, number) + " can only finish as succeeded or failed"};
  }
  auto tx = Transaction::Begin(db_);
  if (!tx) return tx.error();
  auto current = GetRelease(app, number);
  if (!current) return current.error();
  if (!*current) return Error{"state: no " + ReleaseName(app, number)};
  if ((*current)->outcome != Outcome::kDeploying) {
    return Error{"state: " + ReleaseName(app, number) + " already finished (" +
                 OutcomeName((*current)->outcome) + ")"};
  }
  auto update =
      Statement::Prepare(db_,
                         "UPDATE releases SET outcome = ?3, reason = ?4, finished_at = ?5 "
                         "WHERE app = ?1 AND number = ?2");
  if (!update) return update.error();
  update->Bind(1, app).Bind(2, number).Bind(3, OutcomeName(outcome)).Bind(4, reason).Bind(5, Now());
  if (auto s = update->Run(); !s) return s;
  return tx->Commit();
}

Result<std::vector<Release>> ReleaseStore::ListReleases(const std::string& app) {
  auto s = Statement::Prepare(db_, "SELECT " + std::string(kReleaseColumns) +
                                       " FROM releases WHERE app = ?1 ORDER BY number");
  if (!s) return s.error();
  s->Bind(1, app);
  return Collect<Release>(*s, ReadRelease);
}

Result<std::vector<ReleaseSummary>> ReleaseStore::ListReleaseSummaries(const std::string& app) {
  // The timestamps are RFC 3339 with milliseconds; julianday() reads them (the Z included).
  auto s = Statement::Prepare(
      db_,
      "SELECT number, rollback_of IS NOT NULL, outcome, "
      "CAST(ROUND((julianday(finished_at) - julianday(created_at)) * 86400000.0) AS INTEGER) "
      "FROM releases WHERE app = ?1 ORDER BY number");
  if (!s) return s.error();
  s->Bind(1, app);
  return Collect<ReleaseSummary>(*s, [](const Statement& row) {
    ReleaseSummary r;
    r.number = row.Int(0);
    r.rollback = row.Int(1) != 0;
    r.outcome = ParseOutcome(row.Text(2));
    r.duration_ms = row.OptionalInt(3);
    return r;
  });
}

Result<std::optional<Release>> ReleaseStore::GetRelease(const std::string& app, int64_t number) {
  auto s = Statement::Prepare(db_, "SELECT " + std::string(kReleaseColumns) +
                                       " FROM releases WHERE app = ?1 AND number = ?2");
  if (!s) return s.error();
  s->Bind(1, app).Bind(2, number);
  auto row = s->Step();
  if (!row) return row.error();
  if (!*row) return std::optional<Release>();
  return std::optional<Release>(ReadRelease(*s));
}

Result<std::vector<AppRecord>> ReleaseStore::ListApps() {
  auto s =
      Statement::Prepare(db_, "SELECT " + std::string(kAppColumns) + " FROM apps ORDER BY name");
  if (!s) return s.error();
  return Collect<AppRecord>(*s, ReadApp);
}

Result<std::optional<AppRecord>> ReleaseStore::GetApp(const std::string& name) {
  auto s =
      Statement::Prepare(db_, "SELECT " + std::string(kAppColumns) + " FROM apps WHERE name = ?1");
  if (!s) return s.error();
  s->Bind(1, name);
  auto row = s->Step();
  if (!row) return row.error();
  if (!*row) return std::optional<AppRecord>();
  return std::optional<AppRecord>(ReadApp(*s));
}

Status ReleaseStore::SetCurrentRelease(const std::string& app, std::optional<int64_t> number) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return tx.error();
  if (number) {
    // Checked here for a clear message; the foreign key is the backstop.
    auto release = GetRelease(app, *number);
    if (!release) return release.error();
    if (!*release) return Error{"state: no " + ReleaseName(app, *number)};
  }
  auto s = Statement::Prepare(db_, "UPDATE apps SET current_release = ?2 WHERE name = ?1");
  if (!s) return s.error();
  if (auto r = s->Bind(1, app).Bind(2, number).Run(); !r) return r;
  if (sqlite3_changes(db_) == 0) return Error{"state: no app named " + app};
  return tx->Commit();
}

Status ReleaseStore::SetDesiredState(const std::string& app, DesiredState desired) {
  auto s = Statement::Prepare(db_, "UPDATE apps SET desired_state = ?2 WHERE name = ?1");
  if (!s) return s.error();
  if (auto r = s->Bind(1, app).Bind(2, DesiredName(desired)).Run(); !r) return r;
  if (sqlite3_changes(db_) == 0) return Error{"state: no app named " + app};
  return Ok();
}

Result<int> ReleaseStore::FailUnfinishedDeploys(const std::string& reason) {
  auto s =
      Statement::Prepare(db_,
                         "UPDATE releases SET outcome = 'failed', reason = ?1, finished_at = ?2 "
                         "WHERE outcome = 'deploying'");
  if (!s) return s.error();
  if (auto r = s->Bind(1, reason).Bind(2, Now()).Run(); !r) return r.error();
  return sqlite3_changes(db_);
}

Result<int64_t> ReleaseStore::AppendEvent(const std::string& app, int64_t release,
                                          const std::string& kind, const std::string& message) {
  auto s = Statement::Prepare(
      db_, "INSERT INTO events (app, \"release\", at, kind, message) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!s) return s.error();
  if (auto r = s->Bind(1, app).Bind(2, release).Bind(3, Now()).Bind(4, kind).Bind(5, message).Run();
      !r) {
    return r.error();
  }
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

Result<std::vector<Event>> ReleaseStore::EventsSince(const std::string& app, int64_t after_id,
                                                     int64_t release, int limit) {
  if (limit <= 0) return Error{"state: events limit must be positive"};
  auto s = Statement::Prepare(db_,
                              "SELECT id, app, \"release\", at, kind, message FROM events "
                              "WHERE app = ?1 AND id > ?2 AND (?3 = 0 OR \"release\" = ?3) "
                              "ORDER BY id LIMIT ?4");
  if (!s) return s.error();
  s->Bind(1, app).Bind(2, after_id).Bind(3, release).Bind(4, int64_t{limit});
  return Collect<Event>(*s, [](const Statement& row) {
    Event e;
    e.id = row.Int(0);
    e.app = row.Text(1);
    e.release = row.Int(2);
    e.at = row.Text(3);
    e.kind = row.Text(4);
    e.message = row.Text(5);
    return e;
  });
}

}  // namespace slipway::state
