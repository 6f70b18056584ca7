#include "alerts/alert_monitor.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "alerts/builtin_names.h"
#include "alerts/live_app_facts.h"
#include "alerts/webhook_body.h"
#include "common/duration.h"
#include "common/log.h"
#include "spec/spec_parser.h"

namespace slipway::alerts {

constexpr log::Logger kLog{"alerts"};

namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// Apps are looked up at least this often, so a first deploy's rules start soon.
constexpr milliseconds kMaxTick{1000};
constexpr int kNotificationsShown = 50;

state::AlertRecord ToRecord(const Alert& a) {
  state::AlertRecord r;
  r.app = a.app;
  r.fingerprint = a.fingerprint;
  r.rule = a.rule;
  r.state = AlertStateName(a.state);
  r.labels_json = LabelsToJson(a.labels).dump();
  r.annotations_json = LabelsToJson(a.annotations).dump();
  r.active_since_ms = ToMillis(a.active_since);
  if (a.fired_at) r.fired_at_ms = ToMillis(*a.fired_at);
  if (a.resolved_at) r.resolved_at_ms = ToMillis(*a.resolved_at);
  return r;
}

std::optional<Alert> FromRecord(const state::AlertRecord& r) {
  auto state = ParseAlertState(r.state);
  if (!state) return std::nullopt;
  Alert a;
  a.app = r.app;
  a.rule = r.rule;
  a.labels = LabelsFromJson(nlohmann::json::parse(r.labels_json, nullptr, false));
  a.annotations = LabelsFromJson(nlohmann::json::parse(r.annotations_json, nullptr, false));
  a.fingerprint = r.fingerprint;
  a.state = *state;
  a.active_since = FromMillis(r.active_since_ms);
  if (r.fired_at_ms) a.fired_at = FromMillis(*r.fired_at_ms);
  if (r.resolved_at_ms) a.resolved_at = FromMillis(*r.resolved_at_ms);
  return a;
}

// The value in its unit: a metric's ("21.3%"), or a burn rate ("20.1x").
std::string ValueText(const Alert& a) {
  if (!a.value) return "";
  if (a.metric) return FormatMetricValue(*a.metric, *a.value);
  if (a.rule == kErrorBudgetBurn) return fmt::format("{:.3g}x", *a.value);
  return "";
}

nlohmann::json TimeOrNull(const std::optional<WallTime>& t) {
  return t ? nlohmann::json(FormatTime(*t)) : nlohmann::json();
}

nlohmann::json NotificationJson(const state::AlertNotificationRecord& n) {
  return {
      {"id", n.id},
      {"app", n.app},
      {"group_key", n.group_key},
      {"receiver", n.receiver},
      {"url", n.url},
      {"alert_status", n.alert_status},
      {"status", n.status},
      {"attempts", n.attempts},
      {"last_error", n.last_error},
      {"created_at", n.created_at},
      {"next_attempt_at", n.status == "pending"
                              ? nlohmann::json(FormatTime(FromMillis(n.next_attempt_ms)))
                              : nlohmann::json()},
      {"finished_at", n.finished_at.empty() ? nlohmann::json() : nlohmann::json(n.finished_at)}};
}

}  // namespace

AlertMonitor::AlertMonitor(AlertMonitorEnv env)
    : env_(std::move(env)),
      outbox_(*env_.io, *env_.store, *env_.poster, env_.wall_now),
      timer_(*env_.io) {}

AlertMonitor::~AlertMonitor() {
  *alive_ = false;
  timer_.cancel();
}

Status AlertMonitor::Start() {
  auto alerts = env_.store->ListAlerts();
  if (!alerts) return alerts.error();
  for (const state::AlertRecord& record : *alerts) {
    if (auto alert = FromRecord(record)) tracker_.Restore(std::move(*alert));
  }
  auto groups = env_.store->ListAlertGroups();
  if (!groups) return groups.error();
  for (const state::AlertGroupRecord& g : *groups) {
    auto state =
        GroupState::FromJson(g.group_key, g.app, g.state_json, FromMillis(g.last_notified_ms));
    if (state) groups_.Restore(std::move(*state));
  }
  if (Status st = outbox_.Load(); !st) return st;
  running_ = true;
  kLog.Info("alerts: monitoring",
            {{"alerts", alerts->size()}, {"pending_notifications", outbox_.pending()}});
  ScheduleTick(milliseconds(0));
  return Ok();
}

void AlertMonitor::Stop() {
  running_ = false;
  timer_.cancel();
}

void AlertMonitor::ScheduleTick(milliseconds after) {
  timer_.expires_after(after);
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive || !running_) return;
    Tick();
  });
}

void AlertMonitor::Tick() {
  EvaluateApps(/*all=*/false);
  milliseconds next = kMaxTick;
  const auto now = SteadyClock::now();
  for (const auto& [app, rules] : rules_) {
    auto until = std::chrono::duration_cast<milliseconds>(rules.next_due - now);
    next = std::clamp(until, milliseconds(10), next);
  }
  ScheduleTick(next);
}

void AlertMonitor::EvaluateAll() { EvaluateApps(/*all=*/true); }

AlertMonitor::AppRules* AlertMonitor::RulesFor(const state::AppRecord& app) {
  std::optional<std::int64_t> release = app.current_release;
  if (!release) {
    auto releases = env_.store->ListReleases(app.name);
    if (releases && !releases->empty()) release = releases->back().number;
  }
  if (!release) return nullptr;
  AppRules& rules = rules_[app.name];
  if (rules.parsed && rules.release == *release) return &rules;
  rules = AppRules{};
  rules.release = *release;
  rules.parsed = true;
  auto stored = env_.store->GetRelease(app.name, *release);
  if (!stored || !stored->has_value()) return &rules;
  auto parsed = spec::ParseAppSpec((*stored)->spec_yaml, (*stored)->spec_file, (*stored)->base_dir);
  if (!parsed.spec) {
    kLog.Error("alerts: the release's spec no longer parses; its rules are off",
               {{"app", app.name}, {"release", *release}});
    return &rules;
  }
  rules.config = parsed.spec->alerts;
  rules.rules = BuildAlertRules(rules.config, parsed.spec->slo);
  return &rules;
}

void AlertMonitor::EvaluateApps(bool all) {
  auto apps = env_.store->ListApps();
  if (!apps) {
    kLog.Error("alerts: cannot list apps", {{"error", apps.error().message}});
    return;
  }
  const WallTime now = env_.wall_now();
  const auto steady_now = SteadyClock::now();
  for (const state::AppRecord& app : *apps) {
    AppRules* rules = RulesFor(app);
    if (rules == nullptr) continue;
    if (!all && steady_now < rules->next_due) continue;
    rules->next_due = steady_now + rules->config.evaluation_interval;
    EvaluateApp(app, *rules, now, steady_now);
  }
  Persist(tracker_.Expire(now, kResolvedRetention,
                          [this](const Alert& a) { return groups_.AwaitsResolution(a); }));
  last_evaluation_ = now;
  ++evaluations_;
}

void AlertMonitor::EvaluateApp(const state::AppRecord& app, AppRules& rules, WallTime now,
                               SteadyClock::time_point steady_now) {
  const bool running = app.desired == state::DesiredState::kRunning;
  std::optional<std::int64_t> serving = running ? app.current_release : std::nullopt;
  std::shared_ptr<const metrics::ReleaseWindow> window;
  if (serving && env_.window_of) window = env_.window_of(app.name, *serving);
  LiveAppFacts facts(*env_.store, app.name, serving, window, steady_now, now);
  if (env_.burn_rate) {
    facts.SetBurnRate([this, &app](const slo::Objective& objective, std::chrono::seconds w) {
      return env_.burn_rate(app.name, objective, w);
    });
  }
  std::set<std::string> evaluated;
  for (const AlertRule& rule : rules.rules) {
    evaluated.insert(rule.name);
    // A stopped app serves nothing: what the proxy's metrics said of it no longer holds.
    std::vector<AlertSample> samples;
    if (running || !rule.uses_proxy_metrics()) samples = rule.Evaluate(app.name, facts, now);
    Persist(tracker_.Apply(app.name, rule.name, rule.for_duration, samples, now));
  }
  // A rule that was removed or turned off resolves its alerts.
  for (const std::string& rule : tracker_.RulesWithAlerts(app.name)) {
    if (!evaluated.count(rule)) Persist(tracker_.Apply(app.name, rule, milliseconds(0), {}, now));
  }
  Notify(app.name, rules.config, now);
}

void AlertMonitor::Notify(const std::string& app, const spec::AlertsConfig& config, WallTime now) {
  const GroupTiming timing{config.group_wait, config.group_interval, config.repeat_interval};
  for (PlannedNotification& plan : groups_.Due(app, tracker_.Alerts(app), timing, now)) {
    const Notification& n = plan.notification;
    std::vector<state::NewAlertNotification> rows;
    for (const spec::AlertReceiver& receiver : config.receivers) {
      state::NewAlertNotification row;
      row.group_key = n.group_key;
      row.app = app;
      row.receiver = receiver.name;
      row.url = receiver.url;
      row.alert_status = n.firing() ? "firing" : "resolved";
      row.body = WebhookBody(n, receiver.name, config.external_url);
      row.timeout_ms = receiver.timeout.count();
      row.initial_backoff_ms = config.retry.initial_backoff.count();
      row.max_backoff_ms = config.retry.max_backoff.count();
      row.give_up_at_ms = ToMillis(now) + config.retry.give_up_after.count();
      row.next_attempt_ms = ToMillis(now);
      rows.push_back(std::move(row));
    }
    state::AlertGroupRecord group{n.group_key, app, plan.next.ToJson(), ToMillis(now)};
    auto queued = env_.store->QueueAlertNotifications(group, plan.next.sent.empty(), rows);
    if (!queued) {
      // Nothing changed: the same plan comes back at the next evaluation.
      kLog.Error("alerts: cannot queue a notification",
                 {{"app", app}, {"group", n.group_key}, {"error", queued.error().message}});
      continue;
    }
    groups_.Commit(plan.next);
    kLog.Info("alert notification queued", {{"app", app},
                                            {"group", n.group_key},
                                            {"status", n.firing() ? "firing" : "resolved"},
                                            {"alerts", n.alerts.size()},
                                            {"receivers", rows.size()}});
    outbox_.Add(std::move(*queued));
  }
}

void AlertMonitor::Persist(const std::vector<AlertTracker::Change>& changes) {
  for (const AlertTracker::Change& change : changes) {
    const Alert& a = change.alert;
    Status st = change.removed ? env_.store->DeleteAlert(a.app, a.fingerprint)
                               : env_.store->SaveAlert(ToRecord(a));
    if (!st) {
      kLog.Error("alerts: cannot store an alert",
                 {{"app", a.app}, {"alert", a.rule}, {"error", st.error().message}});
    }
    if (!change.removed && a.state != AlertState::kPending) {
      kLog.Info(std::string("alert ") + AlertStateName(a.state),
                {{"app", a.app}, {"alert", a.rule}, {"fingerprint", a.fingerprint}});
    }
  }
}

nlohmann::json AlertMonitor::ToJson(const std::optional<std::string>& app) const {
  auto notifications = env_.store->RecentAlertNotifications(app.value_or(""), 500);
  nlohmann::json alerts = nlohmann::json::array();
  for (const Alert* a : tracker_.Alerts(app.value_or(""))) {
    const std::string key = GroupKey(GroupLabels(*a));
    nlohmann::json delivery = nlohmann::json::array();
    std::set<std::string> receivers;
    if (notifications) {
      for (const state::AlertNotificationRecord& n : *notifications) {
        if (n.group_key != key || !receivers.insert(n.receiver).second) continue;
        delivery.push_back({{"receiver", n.receiver},
                            {"notification", n.id},
                            {"alert_status", n.alert_status},
                            {"status", n.status},
                            {"attempts", n.attempts},
                            {"last_error", n.last_error}});
      }
    }
    std::string rule_text;
    auto rules = rules_.find(a->app);
    if (rules != rules_.end()) {
      for (const AlertRule& r : rules->second.rules) {
        if (r.name == a->rule) rule_text = r.Describe();
      }
    }
    alerts.push_back({{"app", a->app},
                      {"alertname", a->rule},
                      {"rule", rule_text},
                      {"state", AlertStateName(a->state)},
                      {"since", FormatTime(a->since())},
                      {"active_since", FormatTime(a->active_since)},
                      {"fired_at", TimeOrNull(a->fired_at)},
                      {"resolved_at", TimeOrNull(a->resolved_at)},
                      {"value", a->value ? nlohmann::json(*a->value) : nlohmann::json()},
                      {"value_text", ValueText(*a)},
                      {"labels", LabelsToJson(a->labels)},
                      {"annotations", LabelsToJson(a->annotations)},
                      {"fingerprint", a->fingerprint},
                      {"group_key", key},
                      {"delivery", delivery}});
  }
  nlohmann::json recent = nlohmann::json::array();
  if (notifications) {
    for (std::size_t i = 0; i < notifications->size() && i < kNotificationsShown; ++i) {
      recent.push_back(NotificationJson((*notifications)[i]));
    }
  }
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& [name, app_rules] : rules_) {
    if (app && name != *app) continue;
    for (const AlertRule& r : app_rules.rules) {
      rules.push_back({{"app", name},
                       {"alertname", r.name},
                       {"rule", r.Describe()},
                       {"for", FormatDuration(r.for_duration)},
                       {"builtin", r.builtin},
                       {"release", app_rules.release},
                       {"receivers", app_rules.config.receivers.size()}});
    }
  }
  return {{"alerts", alerts},
          {"notifications", recent},
          {"rules", rules},
          {"evaluations", evaluations_},
          {"evaluated_at",
           evaluations_ ? nlohmann::json(FormatTime(last_evaluation_)) : nlohmann::json()}};
}

}  // namespace slipway::alerts
