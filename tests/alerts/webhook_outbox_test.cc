// Delivery: the back-off schedule, retries until delivered, dead letters, one attempt at a time
// per group and receiver with newer notifications superseding older ones, and resumption of
// stored notifications by a restarted daemon.
#include "alerts/webhook_outbox.h"

#include <gtest/gtest.h>

#include "alert_test_support.h"

namespace slipway::alerts {
namespace {

using namespace std::chrono_literals;
using testing::RunUntil;
using testing::ScriptedPoster;
using testing::TempStore;

TEST(RetryDelayTest, DoublesFromTheInitialBackOffUpToTheCap) {
  std::vector<long> delays;
  for (int failed = 1; failed <= 9; ++failed) delays.push_back(RetryDelay(1s, 60s, failed).count());
  EXPECT_EQ(delays, (std::vector<long>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000}));
  EXPECT_EQ(RetryDelay(200ms, 1s, 1000), 1s) << "no overflow after many failures";
  EXPECT_EQ(RetryDelay(5s, 2s, 1), 2s);
}

class WebhookOutboxTest : public ::testing::Test {
 protected:
  std::vector<state::AlertNotificationRecord> Queue(const std::string& status,
                                                    const std::string& receiver = "ops",
                                                    std::chrono::milliseconds give_up = 10s) {
    state::NewAlertNotification n;
    n.group_key = "{}:{alertname=\"HighErrorRate\", app=\"hello\"}";
    n.app = "hello";
    n.receiver = receiver;
    n.url = "http://127.0.0.1:9/hook";
    n.alert_status = status;
    n.body = "{\"status\":\"" + status + "\"}";
    n.timeout_ms = 1000;
    n.initial_backoff_ms = 20;
    n.max_backoff_ms = 80;
    const std::int64_t now = ToMillis(WallClock::now());
    n.give_up_at_ms = now + give_up.count();
    n.next_attempt_ms = now;
    state::AlertGroupRecord group{n.group_key, "hello", "{}", now};
    auto queued = store->QueueAlertNotifications(group, false, {n});
    EXPECT_TRUE(queued.ok());
    return queued.ok() ? *queued : std::vector<state::AlertNotificationRecord>{};
  }
  state::AlertNotificationRecord Row(std::int64_t id) {
    auto rows = store->RecentAlertNotifications("", 100);
    EXPECT_TRUE(rows.ok());
    for (const auto& r : *rows) {
      if (r.id == id) return r;
    }
    ADD_FAILURE() << "no notification " << id;
    return {};
  }
  bool Finished(std::int64_t id) { return Row(id).status != "pending"; }

  boost::asio::io_context io;
  TempStore store;
  ScriptedPoster poster;
};

TEST_F(WebhookOutboxTest, RetriesWithBackOffUntilDelivered) {
  WebhookOutbox outbox(io, *store, poster);
  poster.script = {testing::Refused(), testing::Refused(), testing::Refused()};
  auto queued = Queue("firing");
  const std::int64_t id = queued[0].id;
  outbox.Add(queued);
  ASSERT_TRUE(RunUntil(io, [&] { return Finished(id); }));
  const auto row = Row(id);
  EXPECT_EQ(row.status, "delivered");
  EXPECT_EQ(row.attempts, 4);
  EXPECT_EQ(row.last_error, "");
  ASSERT_EQ(poster.calls.size(), 4u);
  // 20 ms, 40 ms, 80 ms apart (at least).
  const std::chrono::milliseconds expected[] = {20ms, 40ms, 80ms};
  for (int i = 0; i < 3; ++i) {
    EXPECT_GE(poster.calls[i + 1].at - poster.calls[i].at, expected[i]) << "retry " << i + 1;
  }
  EXPECT_EQ(poster.calls[0].body, R"({"status":"firing"})");
  EXPECT_EQ(outbox.pending(), 0u);
}

TEST_F(WebhookOutboxTest, AReceiverThatStaysDownLeavesADeadLetter) {
  WebhookOutbox outbox(io, *store, poster);
  for (int i = 0; i < 100; ++i) poster.script.push_back(testing::Refused());
  auto queued = Queue("firing", "ops", 300ms);
  outbox.Add(queued);
  ASSERT_TRUE(RunUntil(io, [&] { return Finished(queued[0].id); }));
  const auto row = Row(queued[0].id);
  EXPECT_EQ(row.status, "dead_letter");
  EXPECT_GE(row.attempts, 3);
  EXPECT_EQ(row.last_error, "connect: Connection refused; gave up after " +
                                std::to_string(row.attempts) + " attempts");
  EXPECT_FALSE(row.finished_at.empty());
  const std::size_t calls = poster.calls.size();
  EXPECT_FALSE(RunUntil(
      io, [&] { return poster.calls.size() > calls; }, 300ms))
      << "a dead letter is not retried";
}

TEST_F(WebhookOutboxTest, ARefusedBodyIsADeadLetterAtOnce) {
  WebhookOutbox outbox(io, *store, poster);
  poster.script = {PostResult{PostResult::Outcome::kRejected, "HTTP 400"}};
  auto queued = Queue("firing");
  outbox.Add(queued);
  ASSERT_TRUE(RunUntil(io, [&] { return Finished(queued[0].id); }));
  EXPECT_EQ(Row(queued[0].id).status, "dead_letter");
  EXPECT_EQ(Row(queued[0].id).last_error, "refused: HTTP 400");
  EXPECT_EQ(poster.calls.size(), 1u);
}

TEST_F(WebhookOutboxTest, ANewerStateSupersedesAnUndeliveredOne) {
  WebhookOutbox outbox(io, *store, poster);
  poster.script = {testing::Refused()};
  auto firing = Queue("firing");
  outbox.Add(firing);
  ASSERT_TRUE(RunUntil(io, [&] { return Row(firing[0].id).attempts == 1; }));
  // While the firing one waits for its retry, the alert resolves.
  auto resolved = Queue("resolved");
  EXPECT_EQ(Row(firing[0].id).status, "superseded");
  outbox.Add(resolved);
  ASSERT_TRUE(RunUntil(io, [&] { return Finished(resolved[0].id); }));
  EXPECT_EQ(Row(resolved[0].id).status, "delivered");
  ASSERT_EQ(poster.calls.size(), 2u);
  EXPECT_EQ(poster.calls[1].body, R"({"status":"resolved"})");
  EXPECT_FALSE(RunUntil(
      io, [&] { return poster.calls.size() > 2; }, 200ms));
}

TEST_F(WebhookOutboxTest, OneAttemptAtATimePerGroupAndReceiverInOrder) {
  WebhookOutbox outbox(io, *store, poster);
  poster.hold = true;
  auto firing = Queue("firing");
  auto other = Queue("firing", "pager");
  outbox.Add(firing);
  outbox.Add(other);
  ASSERT_TRUE(RunUntil(io, [&] { return poster.calls.size() == 2; }))
      << "different receivers are independent";
  auto resolved = Queue("resolved");
  outbox.Add(resolved);
  EXPECT_FALSE(RunUntil(
      io, [&] { return poster.calls.size() > 2; }, 200ms))
      << "the resolution waits for the firing attempt under way";
  poster.hold = false;
  poster.Release(PostResult{PostResult::Outcome::kDelivered, "HTTP 200"});
  ASSERT_TRUE(RunUntil(io, [&] { return Finished(resolved[0].id); }));
  EXPECT_EQ(Row(firing[0].id).status, "delivered") << "its attempt was under way and got through";
  EXPECT_EQ(poster.calls[2].body, R"({"status":"resolved"})");
  poster.Release(PostResult{PostResult::Outcome::kDelivered, "HTTP 200"});
  ASSERT_TRUE(RunUntil(io, [&] { return Finished(other[0].id); }));
}

TEST_F(WebhookOutboxTest, ARestartedDaemonDeliversWhatWasQueued) {
  auto queued = Queue("resolved");
  {
    WebhookOutbox outbox(io, *store, poster);
    poster.hold = true;
    outbox.Add(queued);
    ASSERT_TRUE(RunUntil(io, [&] { return poster.calls.size() == 1; }));
    // The daemon dies with the attempt under way.
  }
  io.restart();
  io.poll();
  store.Reopen();
  ScriptedPoster after;
  WebhookOutbox outbox(io, *store, after);
  ASSERT_TRUE(outbox.Load().ok());
  EXPECT_EQ(outbox.pending(), 1u);
  ASSERT_TRUE(RunUntil(io, [&] { return Finished(queued[0].id); }));
  EXPECT_EQ(Row(queued[0].id).status, "delivered");
  EXPECT_EQ(after.calls.size(), 1u);
}

}  // namespace
}  // namespace slipway::alerts
