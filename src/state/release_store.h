// ReleaseStore: Slipway's durable state in one SQLite file (WAL mode). The only code that
// writes SQL. Releases are immutable once created, except for their outcome, which moves
// once from "deploying" to a final value (enforced by triggers in the schema, not only here).
// Not thread-safe: the daemon uses it from its controller thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

struct sqlite3;

namespace slipway::state {

// deploying -> succeeded | failed
enum class Outcome { kDeploying, kSucceeded, kFailed };
const char* OutcomeName(Outcome o);

enum class DesiredState { kRunning, kStopped };

struct AppRecord {
  std::string name;
  std::string created_at;                  // RFC 3339 UTC, wall clock
  std::optional<int64_t> current_release;  // the release serving traffic, if any
  DesiredState desired = DesiredState::kRunning;
};

struct NewRelease {
  std::string app;
  std::string spec_yaml;               // exact text as submitted
  std::string spec_file;               // path it came from (for messages)
  std::string base_dir;                // for relative paths in the spec
  std::string created_by;              // "user (uid N)"
  std::optional<int64_t> rollback_of;  // set for `slipway rollback`
};

struct Release {
  std::string app;
  int64_t number = 0;  // 1, 2, 3 ... per app
  std::string spec_yaml;
  std::string spec_file;
  std::string base_dir;
  std::string created_by;
  std::string created_at;
  std::optional<int64_t> rollback_of;
  Outcome outcome = Outcome::kDeploying;
  std::string reason;       // why it failed (empty on success)
  std::string finished_at;  // empty while deploying
};

struct Event {
  int64_t id = 0;  // increasing; use as a cursor
  std::string app;
  int64_t release = 0;  // 0 when not about one release
  std::string at;
  std::string kind;  // e.g. "replica.started", "deploy.failed"
  std::string message;
};

class ReleaseStore {
 public:
  // Opens (creating if needed) the database at `path`, sets WAL, applies migrations.
  static Result<std::unique_ptr<ReleaseStore>> Open(const std::string& path);
  ~ReleaseStore();
  ReleaseStore(const ReleaseStore&) = delete;
  ReleaseStore& operator=(const ReleaseStore&) = delete;

  // Creates the app row if missing and the next release number in one transaction.
  Result<Release> CreateRelease(const NewRelease& release);
  // Moves a deploying release to its final outcome; an error if it is already final.
  Status FinishRelease(const std::string& app, int64_t number, Outcome outcome,
                       const std::string& reason);
  Result<std::vector<Release>> ListReleases(const std::string& app);  // oldest first
  Result<std::optional<Release>> GetRelease(const std::string& app, int64_t number);

  Result<std::vector<AppRecord>> ListApps();
  Result<std::optional<AppRecord>> GetApp(const std::string& name);
  Status SetCurrentRelease(const std::string& app, std::optional<int64_t> number);
  Status SetDesiredState(const std::string& app, DesiredState desired);

  // Marks every release still "deploying" as failed with `reason` (start-up recovery).
  // Returns how many were marked.
  Result<int> FailUnfinishedDeploys(const std::string& reason);

  Result<int64_t> AppendEvent(const std::string& app, int64_t release, const std::string& kind,
                              const std::string& message);
  // Events of `app` with id > after_id (of one release when release > 0), oldest first.
  Result<std::vector<Event>> EventsSince(const std::string& app, int64_t after_id,
                                         int64_t release = 0, int limit = 1000);

 private:
  explicit ReleaseStore(sqlite3* db);
  sqlite3* db_;
};

}  // namespace slipway::state
