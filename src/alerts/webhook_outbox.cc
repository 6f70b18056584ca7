#include "alerts/webhook_outbox.h"

#include <algorithm>
#include <set>

#include <boost/asio/post.hpp>

#include "common/duration.h"
#include "common/log.h"

namespace slipway::alerts {

constexpr log::Logger kLog{"alerts"};

using std::chrono::milliseconds;

milliseconds RetryDelay(milliseconds initial, milliseconds max, int failed_attempts) {
  milliseconds delay = initial;
  for (int i = 1; i < failed_attempts && delay < max; ++i) delay *= 2;
  return std::min(delay, max);
}

WebhookOutbox::WebhookOutbox(boost::asio::io_context& io, state::ReleaseStore& store,
                             WebhookPoster& poster, WallNow now)
    : io_(io), store_(store), poster_(poster), now_(std::move(now)), timer_(io) {}

WebhookOutbox::~WebhookOutbox() {
  *alive_ = false;
  timer_.cancel();
}

std::string WebhookOutbox::KeyOf(const state::AlertNotificationRecord& r) {
  return r.group_key + '\n' + r.receiver;
}

Status WebhookOutbox::Load() {
  auto rows = store_.PendingAlertNotifications();
  if (!rows) return rows.error();
  Add(std::move(*rows));
  return Ok();
}

void WebhookOutbox::Add(std::vector<state::AlertNotificationRecord> queued) {
  for (state::AlertNotificationRecord& record : queued) {
    const std::string key = KeyOf(record);
    // The store marked the older ones superseded when it queued this one.
    for (auto it = pending_.begin(); it != pending_.end();) {
      Entry& older = it->second;
      if (older.record.id < record.id && KeyOf(older.record) == key) {
        if (older.in_flight) {
          older.superseded = true;
        } else {
          it = pending_.erase(it);
          continue;
        }
      }
      ++it;
    }
    const std::int64_t id = record.id;
    pending_.insert_or_assign(id, Entry{std::move(record)});
  }
  RunDue();
}

void WebhookOutbox::RunDue() {
  const std::int64_t now = ToMillis(now_());
  std::set<std::string> busy;
  for (const auto& [id, entry] : pending_) {
    if (entry.in_flight) busy.insert(KeyOf(entry.record));
  }
  std::vector<std::int64_t> expired;
  for (auto& [id, entry] : pending_) {
    if (entry.in_flight || entry.superseded) continue;
    const std::string key = KeyOf(entry.record);
    if (busy.count(key) || entry.record.next_attempt_ms > now) continue;
    // Past its give-up time (the daemon was down meanwhile): one attempt if none was made yet.
    if (entry.record.attempts > 0 && now >= entry.record.give_up_at_ms) {
      expired.push_back(id);
      continue;
    }
    busy.insert(key);
    Attempt(entry);
  }
  for (std::int64_t id : expired) {
    Entry& entry = pending_.at(id);
    entry.record.last_error +=
        "; gave up after " + std::to_string(entry.record.attempts) + " attempts";
    Store(entry, "dead_letter");
    pending_.erase(id);
  }
  Schedule();
}

void WebhookOutbox::Schedule() {
  std::set<std::string> busy;
  for (const auto& [id, entry] : pending_) {
    if (entry.in_flight) busy.insert(KeyOf(entry.record));
  }
  std::optional<std::int64_t> next;
  for (const auto& [id, entry] : pending_) {
    if (entry.in_flight || entry.superseded || busy.count(KeyOf(entry.record))) continue;
    next = std::min(next.value_or(entry.record.next_attempt_ms), entry.record.next_attempt_ms);
  }
  timer_.cancel();
  if (!next) return;
  const std::int64_t wait = std::max<std::int64_t>(0, *next - ToMillis(now_()));
  timer_.expires_after(milliseconds(wait));
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive) return;
    RunDue();
  });
}

void WebhookOutbox::Attempt(Entry& entry) {
  entry.in_flight = true;
  const std::int64_t id = entry.record.id;
  // The outcome is handled from the loop, never inside Post (a poster may answer at once, while
  // RunDue still walks the entries).
  poster_.Post(entry.record.url, entry.record.body, milliseconds(entry.record.timeout_ms),
               [this, alive = alive_, id](PostResult result) {
                 if (!*alive) return;
                 boost::asio::post(io_, [this, alive, id, result] {
                   if (*alive) Finish(id, result);
                 });
               });
}

void WebhookOutbox::Store(Entry& entry, const std::string& status) {
  state::AlertNotificationRecord& r = entry.record;
  r.status = entry.superseded && status != "delivered" ? "superseded" : status;
  if (Status st =
          store_.RecordAlertAttempt(r.id, status, r.attempts, r.next_attempt_ms, r.last_error);
      !st) {
    kLog.Error("cannot record a notification attempt",
               {{"notification", r.id}, {"error", st.error().message}});
  }
  if (on_attempt) on_attempt(r);
}

void WebhookOutbox::Finish(std::int64_t id, const PostResult& result) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Entry& entry = it->second;
  state::AlertNotificationRecord& r = entry.record;
  entry.in_flight = false;
  r.attempts += 1;
  const nlohmann::json fields = {{"app", r.app},           {"receiver", r.receiver},
                                 {"group", r.group_key},   {"notification", r.id},
                                 {"attempts", r.attempts}, {"result", result.detail}};
  if (result.outcome == PostResult::Outcome::kDelivered) {
    r.last_error.clear();
    Store(entry, "delivered");
    kLog.Info("alert notification delivered", fields);
    pending_.erase(it);
  } else if (result.outcome == PostResult::Outcome::kRejected) {
    r.last_error = "refused: " + result.detail;
    Store(entry, "dead_letter");
    kLog.Error("alert notification refused by its receiver; kept as a dead letter", fields);
    pending_.erase(it);
  } else {
    r.last_error = result.detail;
    const std::int64_t now = ToMillis(now_());
    const milliseconds delay =
        RetryDelay(milliseconds(r.initial_backoff_ms), milliseconds(r.max_backoff_ms), r.attempts);
    r.next_attempt_ms = now + delay.count();
    if (entry.superseded) {
      Store(entry, "pending");  // the store keeps it superseded; only the count changes
      pending_.erase(it);
    } else if (r.next_attempt_ms > r.give_up_at_ms) {
      r.last_error += "; gave up after " + std::to_string(r.attempts) + " attempts";
      Store(entry, "dead_letter");
      kLog.Error("alert notification not delivered; kept as a dead letter", fields);
      pending_.erase(it);
    } else {
      Store(entry, "pending");
      kLog.Warn("alert notification failed; retrying", {{"app", r.app},
                                                        {"receiver", r.receiver},
                                                        {"notification", r.id},
                                                        {"attempts", r.attempts},
                                                        {"result", result.detail},
                                                        {"retry_in", FormatDuration(delay)}});
    }
  }
  RunDue();
}

}  // namespace slipway::alerts
