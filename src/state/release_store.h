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

// deploying -> succeeded | failed | aborted (a canary or blue-green rollout stopped by analysis,
// a deadline or an operator)
enum class Outcome { kDeploying, kSucceeded, kFailed, kAborted };
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
  std::string image_id;                // docker: the pinned image ("" : resolved at deploy)
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
  std::string image_id;     // docker: the image ID it runs ("sha256:..."); "" for processes
};

// What the metrics need of a release: no spec text.
struct ReleaseSummary {
  int64_t number = 0;
  bool rollback = false;  // made by `slipway rollback` (rollback_of set)
  Outcome outcome = Outcome::kDeploying;
  // finished_at - created_at in milliseconds, for a finished release; nullopt while deploying.
  std::optional<int64_t> duration_ms;
};

struct Event {
  int64_t id = 0;  // increasing; use as a cursor
  std::string app;
  int64_t release = 0;  // 0 when not about one release
  std::string at;
  std::string kind;  // e.g. "replica.started", "deploy.failed"
  std::string message;
};

// Where a canary or blue-green rollout is; one row per release, written before each transition
// takes effect (see rollout_store.cc).
struct RolloutRecord {
  std::string app;
  int64_t release = 0;
  std::string strategy;             // "rolling", "blue-green", "canary"
  std::optional<int64_t> baseline;  // the release that served when the rollout began
  std::string phase;                // the controller's own words: "steps", "promoting", ...
  int step = 0;                     // index of the current step
  int weight = 0;                   // the new release's share of traffic, percent
  bool paused = false;
  std::string pause_reason;
  int64_t step_started_ms = 0;  // wall clock (ms since the epoch) when the current step began
  int64_t step_elapsed_ms = 0;  // time the step had run before a pause or a daemon restart
  std::string updated_at;
};

// A running replica process and what identifies it beyond its pid (for re-adoption).
struct ReplicaRecord {
  std::string app;
  std::string name;  // "hello-r3-0"
  int64_t release = 0;
  int index = 0;
  int port = 0;
  int pid = 0;
  uint64_t start_time = 0;  // /proc/<pid>/stat starttime
  std::string boot_id;
  std::string token;   // SLIPWAY_REPLICA_TOKEN in the process's environment
  bool ready = false;  // it passed readiness when last stored: re-adopted as serving
};

// One analysis evaluation of a rollout.
struct AnalysisRecord {
  int64_t id = 0;
  std::string app;
  int64_t release = 0;
  std::string at;
  int step = 0;
  std::string verdict;      // "pass", "fail", "inconclusive"
  std::string summary;      // one line
  std::string checks_json;  // every check's numbers, as the API shows them
};

struct FlagRecord {
  std::string name;
  std::string value;  // "true", "false", "25%"
  std::string updated_by;
  std::string updated_at;
};

// One alert instance as stored (alert_store.cc): written when its state changes.
struct AlertRecord {
  std::string app;
  std::string fingerprint;
  std::string rule;
  std::string state;  // "pending", "firing", "resolved"
  std::string labels_json;
  std::string annotations_json;
  int64_t active_since_ms = 0;  // wall clock, ms since the epoch
  std::optional<int64_t> fired_at_ms;
  std::optional<int64_t> resolved_at_ms;
};

// What a notification group last sent; `state_json` is the alerts module's own encoding.
struct AlertGroupRecord {
  std::string group_key;
  std::string app;
  std::string state_json;
  int64_t last_notified_ms = 0;
};

// A webhook notification to queue: one group's state for one receiver.
struct NewAlertNotification {
  std::string group_key;
  std::string app;
  std::string receiver;
  std::string url;
  std::string alert_status;  // "firing" or "resolved": the body's status
  std::string body;          // the exact JSON POSTed
  int64_t timeout_ms = 0;
  int64_t initial_backoff_ms = 0;
  int64_t max_backoff_ms = 0;
  int64_t give_up_at_ms = 0;    // wall clock: no attempt starts after it
  int64_t next_attempt_ms = 0;  // wall clock
};

// A queued notification and how its delivery went.
struct AlertNotificationRecord : NewAlertNotification {
  int64_t id = 0;
  std::string status;  // "pending", "delivered", "superseded", "dead_letter"
  int attempts = 0;
  std::string last_error;
  std::string created_at;
  std::string finished_at;  // empty while pending
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
  // Pins the image a deploying docker release runs (once; schema v5 refuses a second time).
  Status SetReleaseImage(const std::string& app, int64_t number, const std::string& image_id);
  Result<std::vector<Release>> ListReleases(const std::string& app);  // oldest first
  Result<std::optional<Release>> GetRelease(const std::string& app, int64_t number);
  Result<std::vector<ReleaseSummary>> ListReleaseSummaries(const std::string& app);  // oldest first

  Result<std::vector<AppRecord>> ListApps();
  Result<std::optional<AppRecord>> GetApp(const std::string& name);
  Status SetCurrentRelease(const std::string& app, std::optional<int64_t> number);
  Status SetDesiredState(const std::string& app, DesiredState desired);

  // Marks every release still "deploying" as failed with `reason` (start-up recovery).
  // Returns how many were marked.
  Result<int> FailUnfinishedDeploys(const std::string& reason);

  // Rollouts (rollout_store.cc).
  Status SaveRollout(const RolloutRecord& rollout);  // insert or replace
  Result<std::optional<RolloutRecord>> GetRollout(const std::string& app, int64_t release);
  // Rollouts whose release is still deploying (start-up recovery), oldest first.
  Result<std::vector<RolloutRecord>> UnfinishedRollouts();

  Status SaveReplica(const ReplicaRecord& replica);  // insert or replace (app, name)
  Status DeleteReplica(const std::string& app, const std::string& name);
  Result<std::vector<ReplicaRecord>> ListReplicas();  // every app

  Status AppendAnalysis(const AnalysisRecord& record);
  // The newest `limit` evaluations of a release, oldest first.
  Result<std::vector<AnalysisRecord>> RecentAnalysis(const std::string& app, int64_t release,
                                                     int limit);

  // Sets a flag and records an event saying who changed it from what (`spec_value` when it was
  // never set), in one transaction.
  Status SetFlag(const std::string& app, const std::string& name, const std::string& value,
                 const std::string& who, const std::string& spec_value = "");
  Result<std::vector<FlagRecord>> ListFlags(const std::string& app);

  // Alerts (alert_store.cc).
  Status SaveAlert(const AlertRecord& alert);  // insert or replace (app, fingerprint)
  Status DeleteAlert(const std::string& app, const std::string& fingerprint);
  Result<std::vector<AlertRecord>> ListAlerts();
  Result<std::vector<AlertGroupRecord>> ListAlertGroups();
  // In one transaction: stores the group's new state (or deletes it when `delete_group`), marks
  // the group's undelivered notifications to the same receivers superseded, and queues one
  // notification each. Returns the queued rows.
  Result<std::vector<AlertNotificationRecord>> QueueAlertNotifications(
      const AlertGroupRecord& group, bool delete_group,
      const std::vector<NewAlertNotification>& notifications);
  Result<std::vector<AlertNotificationRecord>> PendingAlertNotifications();  // oldest first
  // The outcome of an attempt: status "pending" (retried at next_attempt_ms), "delivered" or
  // "dead_letter". A superseded notification only moves on to "delivered".
  Status RecordAlertAttempt(int64_t id, const std::string& status, int attempts,
                            int64_t next_attempt_ms, const std::string& last_error);
  // The newest `limit` notifications of `app` (every app when empty), newest first.
  Result<std::vector<AlertNotificationRecord>> RecentAlertNotifications(const std::string& app,
                                                                        int limit);
  // How many events of `kind` `app` recorded at or after `since` (an RFC 3339 time as stored).
  Result<int64_t> CountEventsSince(const std::string& app, const std::string& kind,
                                   const std::string& since);
  // Releases of `app` that failed or were aborted at or after `since`, and rollbacks created
  // since then, oldest first; without their spec text.
  Result<std::vector<Release>> ReleaseIncidentsSince(const std::string& app,
                                                     const std::string& since);

  Result<int64_t> AppendEvent(const std::string& app, int64_t release, const std::string& kind,
                              const std::string& message);
  // Events of `app` with id > after_id (of one release when release > 0), oldest first.
  Result<std::vector<Event>> EventsSince(const std::string& app, int64_t after_id,
                                         int64_t release = 0, int limit = 1000);

 private:
  friend class SloStore;  // slo_store.cc: the same connection
  explicit ReleaseStore(sqlite3* db);
  sqlite3* db_;
};

}  // namespace slipway::state
