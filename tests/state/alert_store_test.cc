// The alerts side of the store: alert instances and group states round trip, queueing
// supersedes a group's undelivered notifications in one transaction, attempts and dead letters
// are recorded and final, and the facts the built-in rules read.
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "state/release_store.h"
#include "temp_store_fixture.h"

namespace slipway::state {
namespace {

namespace fs = std::filesystem;

class AlertStoreTest : public TempStoreTest {
 protected:
  AlertStoreTest() : TempStoreTest("slipway-alert-store-", OpenAt::kSetUp) {}
  static NewAlertNotification Notification(const std::string& receiver, const std::string& status) {
    NewAlertNotification n;
    n.group_key = "{}:{alertname=\"HighErrorRate\", app=\"hello\"}";
    n.app = "hello";
    n.receiver = receiver;
    n.url = "http://127.0.0.1:9093/hook";
    n.alert_status = status;
    n.body = "{}";
    n.timeout_ms = 10000;
    n.initial_backoff_ms = 1000;
    n.max_backoff_ms = 60000;
    n.give_up_at_ms = 2000;
    n.next_attempt_ms = 1000;
    return n;
  }
  static AlertGroupRecord Group() {
    return {"{}:{alertname=\"HighErrorRate\", app=\"hello\"}", "hello", "{\"sent\":[]}", 1000};
  }
  NewRelease Release(const std::string& app) {
    NewRelease r;
    r.app = app;
    r.spec_yaml = "app: " + app + "\n";
    r.spec_file = "slipway.yaml";
    r.base_dir = "/srv";
    r.created_by = "alice";
    return r;
  }
};

TEST_F(AlertStoreTest, AlertsAndGroupsRoundTrip) {
  AlertRecord a{
      "hello", "7772456599baffc5", "HighErrorRate", "firing", "{\"app\":\"hello\"}", "{}", 1000,
      3000,    std::nullopt};
  ASSERT_TRUE(store_->SaveAlert(a).ok());
  a.state = "resolved";
  a.resolved_at_ms = 9000;
  ASSERT_TRUE(store_->SaveAlert(a).ok()) << "the same alert is replaced";
  auto alerts = store_->ListAlerts();
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ((*alerts)[0].state, "resolved");
  EXPECT_EQ((*alerts)[0].fired_at_ms, 3000);
  EXPECT_EQ((*alerts)[0].resolved_at_ms, 9000);
  EXPECT_NE(RawSql("UPDATE alerts SET state = 'exploded'"), "");
  ASSERT_TRUE(store_->DeleteAlert("hello", a.fingerprint).ok());
  EXPECT_TRUE(store_->ListAlerts()->empty());

  ASSERT_TRUE(store_->QueueAlertNotifications(Group(), false, {}).ok());
  auto groups = store_->ListAlertGroups();
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].state_json, "{\"sent\":[]}");
  EXPECT_EQ((*groups)[0].last_notified_ms, 1000);
  ASSERT_TRUE(store_->QueueAlertNotifications(Group(), true, {}).ok());
  EXPECT_TRUE(store_->ListAlertGroups()->empty());
}

TEST_F(AlertStoreTest, QueueingSupersedesTheGroupsUndeliveredNotificationsPerReceiver) {
  auto first = store_->QueueAlertNotifications(
      Group(), false, {Notification("ops", "firing"), Notification("pager", "firing")});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].status, "pending");
  ASSERT_TRUE(store_->RecordAlertAttempt((*first)[1].id, "delivered", 1, 0, "").ok());
  auto second = store_->QueueAlertNotifications(Group(), false, {Notification("ops", "resolved")});
  ASSERT_TRUE(second.ok());
  auto recent = store_->RecentAlertNotifications("hello", 10);
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ((*recent)[0].status, "pending");     // the resolution to ops
  EXPECT_EQ((*recent)[1].status, "delivered");   // pager's, untouched
  EXPECT_EQ((*recent)[2].status, "superseded");  // ops' firing one
  EXPECT_FALSE((*recent)[2].finished_at.empty());
  auto pending = store_->PendingAlertNotifications();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].alert_status, "resolved");
  EXPECT_EQ((*pending)[0].give_up_at_ms, 2000);
  EXPECT_TRUE(store_->RecentAlertNotifications("other", 10)->empty());
  EXPECT_EQ(store_->RecentAlertNotifications("", 10)->size(), 3u);
}

TEST_F(AlertStoreTest, AttemptsAreRecordedAndFinalStatesStayFinal) {
  auto queued = store_->QueueAlertNotifications(Group(), false, {Notification("ops", "firing")});
  const int64_t id = (*queued)[0].id;
  ASSERT_TRUE(store_->RecordAlertAttempt(id, "pending", 1, 5000, "connect: refused").ok());
  auto row = (*store_->RecentAlertNotifications("", 1))[0];
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(row.next_attempt_ms, 5000);
  EXPECT_EQ(row.last_error, "connect: refused");
  EXPECT_TRUE(row.finished_at.empty());
  ASSERT_TRUE(store_->RecordAlertAttempt(id, "dead_letter", 7, 0, "gave up").ok());
  row = (*store_->RecentAlertNotifications("", 1))[0];
  EXPECT_EQ(row.status, "dead_letter");
  EXPECT_EQ(row.attempts, 7);
  EXPECT_FALSE(row.finished_at.empty());
  ASSERT_TRUE(store_->RecordAlertAttempt(id, "delivered", 8, 0, "").ok());
  EXPECT_EQ((*store_->RecentAlertNotifications("", 1))[0].status, "dead_letter")
      << "a dead letter stays one";
  EXPECT_NE(RawSql("UPDATE alert_notifications SET status = 'pending'"), "");
  EXPECT_NE(RawSql("DELETE FROM alert_notifications"), "");
}

TEST_F(AlertStoreTest, ASupersededAttemptUnderWayMayStillEndDelivered) {
  auto first = store_->QueueAlertNotifications(Group(), false, {Notification("ops", "firing")});
  ASSERT_TRUE(
      store_->QueueAlertNotifications(Group(), false, {Notification("ops", "resolved")}).ok());
  const int64_t id = (*first)[0].id;
  ASSERT_TRUE(store_->RecordAlertAttempt(id, "pending", 2, 0, "timeout").ok());
  auto rows = *store_->RecentAlertNotifications("", 10);
  EXPECT_EQ(rows[1].status, "superseded");
  EXPECT_EQ(rows[1].attempts, 2) << "its attempts still count";
  ASSERT_TRUE(store_->RecordAlertAttempt(id, "delivered", 3, 0, "").ok());
  EXPECT_EQ((*store_->RecentAlertNotifications("", 10))[1].status, "delivered");
}

TEST_F(AlertStoreTest, FactsForTheBuiltInRules) {
  ASSERT_TRUE(store_->AppendEvent("hello", 1, "replica.exited", "hello-r1-0 exited").ok());
  ASSERT_TRUE(store_->AppendEvent("hello", 1, "replica.exited", "hello-r1-0 exited").ok());
  ASSERT_TRUE(store_->AppendEvent("hello", 1, "replica.started", "started").ok());
  ASSERT_TRUE(store_->AppendEvent("web", 1, "replica.exited", "web-r1-0 exited").ok());
  EXPECT_EQ(*store_->CountEventsSince("hello", "replica.exited", "2000-01-01T00:00:00.000Z"), 2);
  EXPECT_EQ(*store_->CountEventsSince("hello", "replica.exited", "2999-01-01T00:00:00.000Z"), 0);

  auto r1 = store_->CreateRelease(Release("hello"));
  ASSERT_TRUE(store_->FinishRelease("hello", r1->number, Outcome::kSucceeded, "").ok());
  auto r2 = store_->CreateRelease(Release("hello"));
  ASSERT_TRUE(store_->FinishRelease("hello", r2->number, Outcome::kFailed, "not ready").ok());
  NewRelease back = Release("hello");
  back.rollback_of = 1;
  auto r3 = store_->CreateRelease(back);
  ASSERT_TRUE(r3.ok());
  auto incidents = store_->ReleaseIncidentsSince("hello", "2000-01-01T00:00:00.000Z");
  ASSERT_TRUE(incidents.ok());
  ASSERT_EQ(incidents->size(), 2u);
  EXPECT_EQ((*incidents)[0].number, 2);
  EXPECT_EQ((*incidents)[0].outcome, Outcome::kFailed);
  EXPECT_EQ((*incidents)[0].reason, "not ready");
  EXPECT_EQ((*incidents)[1].number, 3);
  EXPECT_EQ((*incidents)[1].rollback_of, 1);
  EXPECT_EQ((*incidents)[1].created_by, "alice");
  EXPECT_TRUE((*incidents)[1].spec_yaml.empty());
  EXPECT_TRUE(store_->ReleaseIncidentsSince("hello", "2999-01-01T00:00:00.000Z")->empty());
}

}  // namespace
}  // namespace slipway::state
