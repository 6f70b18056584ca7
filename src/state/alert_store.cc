// The alerts side of ReleaseStore: alert instances, notification groups, the webhook outbox with
// its dead letters, and the facts the built-in rules read (replica exits, failed deploys,
// rollbacks). Split from release_store.cc to keep each translation unit about one thing.
#include <sqlite3.h>

#include "state/release_store.h"
#include "state/sqlite_statement.h"
#include "state/store_support.h"

namespace slipway::state {
namespace {

constexpr std::string_view kAlertColumns =
    "app, fingerprint, rule, state, labels_json, annotations_json, active_since_ms, fired_at_ms, "
    "resolved_at_ms";

constexpr std::string_view kNotificationColumns =
    "id, group_key, app, receiver, url, alert_status, body, status, attempts, timeout_ms, "
    "initial_backoff_ms, max_backoff_ms, give_up_at_ms, next_attempt_ms, last_error, created_at, "
    "finished_at";

AlertNotificationRecord ReadNotification(const Statement& s) {
  AlertNotificationRecord r;
  r.id = s.Int(0);
  r.group_key = s.Text(1);
  r.app = s.Text(2);
  r.receiver = s.Text(3);
  r.url = s.Text(4);
  r.alert_status = s.Text(5);
  r.body = s.Text(6);
  r.status = s.Text(7);
  r.attempts = static_cast<int>(s.Int(8));
  r.timeout_ms = s.Int(9);
  r.initial_backoff_ms = s.Int(10);
  r.max_backoff_ms = s.Int(11);
  r.give_up_at_ms = s.Int(12);
  r.next_attempt_ms = s.Int(13);
  r.last_error = s.Text(14);
  r.created_at = s.Text(15);
  r.finished_at = s.Text(16);
  return r;
}

}  // namespace

Status ReleaseStore::SaveAlert(const AlertRecord& a) {
  auto s = Statement::Prepare(db_, "INSERT OR REPLACE INTO alerts (" + std::string(kAlertColumns) +
                                       ", updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                                       "?10)");
  if (!s) return s.error();
  s->Bind(1, a.app)
      .Bind(2, a.fingerprint)
      .Bind(3, a.rule)
      .Bind(4, a.state)
      .Bind(5, a.labels_json)
      .Bind(6, a.annotations_json)
      .Bind(7, a.active_since_ms)
      .Bind(8, a.fired_at_ms)
      .Bind(9, a.resolved_at_ms)
      .Bind(10, Now());
  return s->Run();
}

Status ReleaseStore::DeleteAlert(const std::string& app, const std::string& fingerprint) {
  auto s = Statement::Prepare(db_, "DELETE FROM alerts WHERE app = ?1 AND fingerprint = ?2");
  if (!s) return s.error();
  s->Bind(1, app).Bind(2, fingerprint);
  return s->Run();
}

Result<std::vector<AlertRecord>> ReleaseStore::ListAlerts() {
  auto s = Statement::Prepare(
      db_, "SELECT " + std::string(kAlertColumns) + " FROM alerts ORDER BY app, fingerprint");
  if (!s) return s.error();
  return Collect<AlertRecord>(*s, [](const Statement& row) {
    AlertRecord a;
    a.app = row.Text(0);
    a.fingerprint = row.Text(1);
    a.rule = row.Text(2);
    a.state = row.Text(3);
    a.labels_json = row.Text(4);
    a.annotations_json = row.Text(5);
    a.active_since_ms = row.Int(6);
    a.fired_at_ms = row.OptionalInt(7);
    a.resolved_at_ms = row.OptionalInt(8);
    return a;
  });
}

Result<std::vector<AlertGroupRecord>> ReleaseStore::ListAlertGroups() {
  auto s = Statement::Prepare(db_,
                              "SELECT group_key, app, state_json, last_notified_ms FROM "
                              "alert_groups ORDER BY group_key");
  if (!s) return s.error();
  return Collect<AlertGroupRecord>(*s, [](const Statement& row) {
    return AlertGroupRecord{row.Text(0), row.Text(1), row.Text(2), row.Int(3)};
  });
}

Result<std::vector<AlertNotificationRecord>> ReleaseStore::QueueAlertNotifications(
    const AlertGroupRecord& group, bool delete_group,
    const std::vector<NewAlertNotification>& notifications) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return tx.error();
  const std::string now = Now();
  if (delete_group) {
    auto s = Statement::Prepare(db_, "DELETE FROM alert_groups WHERE group_key = ?1");
    if (!s) return s.error();
    if (auto st = s->Bind(1, group.group_key).Run(); !st) return st.error();
  } else {
    auto s = Statement::Prepare(db_,
                                "INSERT OR REPLACE INTO alert_groups (group_key, app, state_json, "
                                "last_notified_ms, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s) return s.error();
    s->Bind(1, group.group_key)
        .Bind(2, group.app)
        .Bind(3, group.state_json)
        .Bind(4, group.last_notified_ms)
        .Bind(5, now);
    if (auto st = s->Run(); !st) return st.error();
  }
  std::vector<int64_t> ids;
  for (const NewAlertNotification& n : notifications) {
    auto supersede = Statement::Prepare(
        db_,
        "UPDATE alert_notifications SET status = 'superseded', finished_at = ?3 WHERE group_key = "
        "?1 AND receiver = ?2 AND status = 'pending'");
    if (!supersede) return supersede.error();
    if (auto st = supersede->Bind(1, n.group_key).Bind(2, n.receiver).Bind(3, now).Run(); !st) {
      return st.error();
    }
    auto insert = Statement::Prepare(
        db_,
        "INSERT INTO alert_notifications (group_key, app, receiver, url, alert_status, body, "
        "timeout_ms, initial_backoff_ms, max_backoff_ms, give_up_at_ms, next_attempt_ms, "
        "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    if (!insert) return insert.error();
    insert->Bind(1, n.group_key)
        .Bind(2, n.app)
        .Bind(3, n.receiver)
        .Bind(4, n.url)
        .Bind(5, n.alert_status)
        .Bind(6, n.body)
        .Bind(7, n.timeout_ms)
        .Bind(8, n.initial_backoff_ms)
        .Bind(9, n.max_backoff_ms)
        .Bind(10, n.give_up_at_ms)
        .Bind(11, n.next_attempt_ms)
        .Bind(12, now);
    if (auto st = insert->Run(); !st) return st.error();
    ids.push_back(static_cast<int64_t>(sqlite3_last_insert_rowid(db_)));
  }
  if (auto st = tx->Commit(); !st) return st.error();
  std::vector<AlertNotificationRecord> queued;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    AlertNotificationRecord r;
    static_cast<NewAlertNotification&>(r) = notifications[i];
    r.id = ids[i];
    r.status = "pending";
    r.created_at = now;
    queued.push_back(std::move(r));
  }
  return queued;
}

Result<std::vector<AlertNotificationRecord>> ReleaseStore::PendingAlertNotifications() {
  auto s = Statement::Prepare(db_, "SELECT " + std::string(kNotificationColumns) +
                                       " FROM alert_notifications WHERE status = 'pending' ORDER "
                                       "BY id");
  if (!s) return s.error();
  return Collect<AlertNotificationRecord>(*s, ReadNotification);
}

Status ReleaseStore::RecordAlertAttempt(int64_t id, const std::string& status, int attempts,
                                        int64_t next_attempt_ms, const std::string& last_error) {
  // A superseded notification whose attempt was already under way keeps its status unless that
  // attempt delivered it.
  auto s = Statement::Prepare(
      db_,
      "UPDATE alert_notifications SET status = ?2, attempts = ?3, next_attempt_ms = ?4, "
      "last_error = ?5, finished_at = CASE WHEN ?2 = 'pending' THEN NULL ELSE ?6 END WHERE id = "
      "?1 AND (status = 'pending' OR (status = 'superseded' AND ?2 = 'delivered'))");
  if (!s) return s.error();
  s->Bind(1, id)
      .Bind(2, status)
      .Bind(3, int64_t{attempts})
      .Bind(4, next_attempt_ms)
      .Bind(5, last_error)
      .Bind(6, Now());
  if (auto st = s->Run(); !st) return st;
  if (sqlite3_changes(db_) > 0) return Ok();
  // A superseded notification whose last attempt failed: its count of attempts still counts.
  auto count = Statement::Prepare(
      db_, "UPDATE alert_notifications SET attempts = ?2, last_error = ?3 WHERE id = ?1");
  if (!count) return count.error();
  return count->Bind(1, id).Bind(2, int64_t{attempts}).Bind(3, last_error).Run();
}

Result<std::vector<AlertNotificationRecord>> ReleaseStore::RecentAlertNotifications(
    const std::string& app, int limit) {
  if (limit <= 0) return Error{"state: notification limit must be positive"};
  auto s = Statement::Prepare(db_, "SELECT " + std::string(kNotificationColumns) +
                                       " FROM alert_notifications WHERE (?1 = '' OR app = ?1) "
                                       "ORDER BY id DESC LIMIT ?2");
  if (!s) return s.error();
  s->Bind(1, app).Bind(2, int64_t{limit});
  return Collect<AlertNotificationRecord>(*s, ReadNotification);
}

Result<int64_t> ReleaseStore::CountEventsSince(const std::string& app, const std::string& kind,
                                               const std::string& since) {
  auto s = Statement::Prepare(
      db_, "SELECT count(*) FROM events WHERE app = ?1 AND kind = ?2 AND at >= ?3");
  if (!s) return s.error();
  s->Bind(1, app).Bind(2, kind).Bind(3, since);
  auto row = s->Step();
  if (!row) return row.error();
  return *row ? s->Int(0) : 0;
}

Result<std::vector<Release>> ReleaseStore::ReleaseIncidentsSince(const std::string& app,
                                                                 const std::string& since) {
  auto s = Statement::Prepare(
      db_,
      "SELECT app, number, spec_file, base_dir, created_by, created_at, rollback_of, outcome, "
      "reason, finished_at FROM releases WHERE app = ?1 AND ((outcome IN ('failed', 'aborted') "
      "AND finished_at >= ?2) OR (rollback_of IS NOT NULL AND created_at >= ?2)) ORDER BY number");
  if (!s) return s.error();
  s->Bind(1, app).Bind(2, since);
  return Collect<Release>(*s, [](const Statement& row) {
    Release r;
    r.app = row.Text(0);
    r.number = row.Int(1);
    r.spec_file = row.Text(2);
    r.base_dir = row.Text(3);
    r.created_by = row.Text(4);
    r.created_at = row.Text(5);
    r.rollback_of = row.OptionalInt(6);
    const std::string outcome = row.Text(7);
    r.outcome = outcome == "failed"      ? Outcome::kFailed
                : outcome == "aborted"   ? Outcome::kAborted
                : outcome == "succeeded" ? Outcome::kSucceeded
                                         : Outcome::kDeploying;
    r.reason = row.Text(8);
    r.finished_at = row.Text(9);
    return r;
  });
}

}  // namespace slipway::state
