// AlertMonitor: evaluates every app's alert rules on a timer, keeps their alerts (AlertTracker),
// decides what each notification group sends (AlertGroups) and hands the notifications to the
// WebhookOutbox. An app's rules and receivers are those of its serving release's spec (of its
// newest release while none serves).
//
// What survives a daemon restart: every alert instance (stored at each state change), each
// group's last sent firing alerts (stored in the same transaction as the notifications it
// queues) and every undelivered notification. So a restarted daemon does not notify an alert
// that was already sent as firing and still fires, and it still sends a resolution it had not
// sent (or had queued but not delivered). The proxy's windows start empty after a restart: until
// traffic tells, those conditions are unknown and change nothing.
//
// Lives on the controller's io_context; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "alerts/alert_groups.h"
#include "alerts/alert_rules.h"
#include "alerts/alert_tracker.h"
#include "alerts/webhook_outbox.h"
#include "alerts/webhook_poster.h"
#include "common/result.h"
#include "metrics/release_window.h"
#include "spec/app_spec.h"
#include "state/release_store.h"

namespace slipway::alerts {

struct AlertMonitorEnv {
  boost::asio::io_context* io = nullptr;
  state::ReleaseStore* store = nullptr;
  WebhookPoster* poster = nullptr;
  // The window the proxy records `release` of `app` in; null when it keeps none.
  std::function<std::shared_ptr<const metrics::ReleaseWindow>(const std::string& app,
                                                              std::int64_t release)>
      window_of;
  // The burn rate of `objective` of `app` over `window` (slo::SloSampler); null: none known.
  std::function<std::optional<double>(const std::string& app, const slo::Objective& objective,
                                      std::chrono::seconds window)>
      burn_rate;
  std::function<WallTime()> wall_now = [] { return WallClock::now(); };
};

class AlertMonitor {
 public:
  // How long a resolved alert stays listed (once its resolution is sent).
  static constexpr std::chrono::minutes kResolvedRetention{15};

  explicit AlertMonitor(AlertMonitorEnv env);
  ~AlertMonitor();
  AlertMonitor(const AlertMonitor&) = delete;
  AlertMonitor& operator=(const AlertMonitor&) = delete;

  // Restores the stored alerts, groups and undelivered notifications, then evaluates on a timer
  // (each app every alerts.evaluation_interval).
  Status Start();
  void Stop();
  // Evaluates every app now, whether due or not (tests).
  void EvaluateAll();

  // `GET /v1/alerts`: alerts (with each receiver's delivery of their group), recent
  // notifications and the rules, of `app` or of every app.
  nlohmann::json ToJson(const std::optional<std::string>& app) const;
  // Evaluations run so far (a test waits on it instead of sleeping).
  std::uint64_t evaluations() const { return evaluations_; }
  const WebhookOutbox& outbox() const { return outbox_; }

 private:
  struct AppRules {
    std::int64_t release = 0;
    bool parsed = false;
    spec::AlertsConfig config;
    std::vector<AlertRule> rules;
    std::chrono::steady_clock::time_point next_due{};
  };
  void Tick();
  void ScheduleTick(std::chrono::milliseconds after);
  void EvaluateApps(bool all);
  AppRules* RulesFor(const state::AppRecord& app);
  void EvaluateApp(const state::AppRecord& app, AppRules& rules, WallTime now,
                   std::chrono::steady_clock::time_point steady_now);
  void Notify(const std::string& app, const spec::AlertsConfig& config, WallTime now);
  void Persist(const std::vector<AlertTracker::Change>& changes);

  AlertMonitorEnv env_;
  AlertTracker tracker_;
  AlertGroups groups_;
  WebhookOutbox outbox_;
  std::map<std::string, AppRules> rules_;  // by app
  boost::asio::steady_timer timer_;
  bool running_ = false;
  std::uint64_t evaluations_ = 0;
  WallTime last_evaluation_{};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace slipway::alerts
