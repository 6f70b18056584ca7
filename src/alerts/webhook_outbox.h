// WebhookOutbox: delivers the notifications queued in the store, with retries. Each
// notification is a stored row first (ReleaseStore::QueueAlertNotifications), so none is lost to
// a daemon restart: Load() picks up every one still pending.
//
// Per receiver and group, one attempt at a time and in order: a newer notification of the same
// group to the same receiver supersedes an undelivered older one (the receiver gets the group's
// current state, never an older state after a newer one). A failed attempt is retried after a
// capped exponential back-off (RetryDelay); when the next attempt would start after the
// notification's give-up time, or the receiver refuses the body (a 4xx other than 408/429), the
// row becomes a dead letter: kept, with its last error, for `slipway alerts` to show. Lives on the
// controller's io_context; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "alerts/alert.h"
#include "alerts/webhook_poster.h"
#include "common/result.h"
#include "state/release_store.h"

namespace slipway::alerts {

// The wait before the next attempt after `failed_attempts` (>= 1) failures in a row:
// initial x 2^(failed_attempts - 1), at most max.
std::chrono::milliseconds RetryDelay(std::chrono::milliseconds initial,
                                     std::chrono::milliseconds max, int failed_attempts);

class WebhookOutbox {
 public:
  using WallNow = std::function<WallTime()>;
  // `io`, `store` and `poster` must outlive the outbox.
  WebhookOutbox(
      boost::asio::io_context& io, state::ReleaseStore& store, WebhookPoster& poster,
      WallNow now = [] { return WallClock::now(); });
  ~WebhookOutbox();
  WebhookOutbox(const WebhookOutbox&) = delete;
  WebhookOutbox& operator=(const WebhookOutbox&) = delete;

  // Takes every notification the store holds as pending (daemon start).
  Status Load();
  // Notifications just queued in the store.
  void Add(std::vector<state::AlertNotificationRecord> queued);
  // Notifications not yet delivered, dead-lettered or superseded.
  std::size_t pending() const { return pending_.size(); }

  // Runs after each attempt's outcome is stored, with the row as stored.
  std::function<void(const state::AlertNotificationRecord&)> on_attempt;

 private:
  struct Entry {
    state::AlertNotificationRecord record;
    bool in_flight = false;
    bool superseded = false;  // a newer one of its group and receiver was queued meanwhile
  };
  static std::string KeyOf(const state::AlertNotificationRecord& r);
  void Schedule();
  void RunDue();
  void Attempt(Entry& entry);
  void Finish(std::int64_t id, const PostResult& result);
  void Store(Entry& entry, const std::string& status);

  boost::asio::io_context& io_;
  state::ReleaseStore& store_;
  WebhookPoster& poster_;
  WallNow now_;
  std::map<std::int64_t, Entry> pending_;  // by id: oldest first
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace slipway::alerts
