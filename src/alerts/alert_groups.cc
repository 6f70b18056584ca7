#include "alerts/alert_groups.h"

#include <algorithm>
#include <set>

namespace slipway::alerts {
namespace {

// Go's %q is close enough for label values Slipway writes: quotes and backslashes escaped.
std::string QuotedLabel(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

void SortForNotification(std::vector<Alert>& alerts) {
  std::stable_sort(alerts.begin(), alerts.end(), [](const Alert& a, const Alert& b) {
    const bool a_firing = a.state == AlertState::kFiring;
    const bool b_firing = b.state == AlertState::kFiring;
    if (a_firing != b_firing) return a_firing;
    const WallTime a_start = a.fired_at.value_or(a.active_since);
    const WallTime b_start = b.fired_at.value_or(b.active_since);
    if (a_start != b_start) return a_start < b_start;
    return a.fingerprint < b.fingerprint;
  });
}

}  // namespace

std::string GroupKey(const Labels& group_labels) {
  std::string out = "{}:{";
  bool first = true;
  for (const auto& [name, value] : group_labels) {
    if (!first) out += ", ";
    first = false;
    out += name + "=" + QuotedLabel(value);
  }
  return out + "}";
}

Labels GroupLabels(const Alert& alert) {
  Labels out;
  for (const char* name : {"alertname", "app"}) {
    auto it = alert.labels.find(name);
    if (it != alert.labels.end()) out[name] = it->second;
  }
  return out;
}

bool Notification::firing() const {
  return std::any_of(alerts.begin(), alerts.end(),
                     [](const Alert& a) { return a.state == AlertState::kFiring; });
}

nlohmann::json AlertToJson(const Alert& a) {
  nlohmann::json j = {{"app", a.app},
                      {"rule", a.rule},
                      {"labels", LabelsToJson(a.labels)},
                      {"annotations", LabelsToJson(a.annotations)},
                      {"fingerprint", a.fingerprint},
                      {"state", AlertStateName(a.state)},
                      {"active_since_ms", ToMillis(a.active_since)}};
  if (a.fired_at) j["fired_at_ms"] = ToMillis(*a.fired_at);
  if (a.resolved_at) j["resolved_at_ms"] = ToMillis(*a.resolved_at);
  return j;
}

std::optional<Alert> AlertFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  Alert a;
  a.app = j.value("app", "");
  a.rule = j.value("rule", "");
  a.labels = LabelsFromJson(j.value("labels", nlohmann::json::object()));
  a.annotations = LabelsFromJson(j.value("annotations", nlohmann::json::object()));
  a.fingerprint = j.value("fingerprint", "");
  auto state = ParseAlertState(j.value("state", ""));
  if (!state || a.fingerprint.empty()) return std::nullopt;
  a.state = *state;
  a.active_since = FromMillis(j.value("active_since_ms", std::int64_t{0}));
  if (j.contains("fired_at_ms")) a.fired_at = FromMillis(j["fired_at_ms"].get<std::int64_t>());
  if (j.contains("resolved_at_ms")) {
    a.resolved_at = FromMillis(j["resolved_at_ms"].get<std::int64_t>());
  }
  return a;
}

std::string GroupState::ToJson() const {
  nlohmann::json alerts = nlohmann::json::array();
  for (const auto& [fingerprint, alert] : sent) alerts.push_back(AlertToJson(alert));
  return nlohmann::json{{"labels", LabelsToJson(labels)}, {"sent", alerts}}.dump();
}

std::optional<GroupState> GroupState::FromJson(const std::string& key, const std::string& app,
                                               const std::string& json,
                                               std::optional<WallTime> last_notified) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  GroupState state;
  state.key = key;
  state.app = app;
  state.labels = LabelsFromJson(j.value("labels", nlohmann::json::object()));
  state.last_notified = last_notified;
  for (const nlohmann::json& a : j.value("sent", nlohmann::json::array())) {
    if (auto alert = AlertFromJson(a)) state.sent[alert->fingerprint] = std::move(*alert);
  }
  return state;
}

void AlertGroups::Restore(GroupState state) {
  std::string key = state.key;
  groups_.insert_or_assign(std::move(key), std::move(state));
}

std::vector<PlannedNotification> AlertGroups::Due(const std::string& app,
                                                  const std::vector<const Alert*>& alerts,
                                                  const GroupTiming& timing, WallTime now) const {
  // The firing alerts of each group, and every group that exists for this app.
  std::map<std::string, std::vector<const Alert*>> by_group;
  std::map<std::string, const Alert*> by_fingerprint;
  std::map<std::string, Labels> labels_of;
  for (const Alert* alert : alerts) {
    if (alert->app != app) continue;
    by_fingerprint[alert->fingerprint] = alert;
    Labels labels = GroupLabels(*alert);
    const std::string key = GroupKey(labels);
    labels_of.emplace(key, std::move(labels));
    if (alert->state == AlertState::kFiring) by_group[key].push_back(alert);
  }
  std::set<std::string> keys;
  for (const auto& [key, labels] : labels_of) keys.insert(key);
  for (const auto& [key, group] : groups_) {
    if (group.app == app) keys.insert(key);
  }

  std::vector<PlannedNotification> planned;
  for (const std::string& key : keys) {
    const std::vector<const Alert*>& firing = by_group[key];
    auto existing = groups_.find(key);
    const GroupState* group = existing == groups_.end() ? nullptr : &existing->second;
    const bool has_sent = group != nullptr && !group->sent.empty();
    std::vector<Alert> resolved;
    if (!has_sent) {
      if (firing.empty()) continue;
      WallTime first = *firing.front()->fired_at;
      for (const Alert* a : firing) first = std::min(first, a->fired_at.value_or(now));
      if (now < first + timing.group_wait) continue;
    } else {
      bool changed = false;
      std::set<std::string> firing_now;
      for (const Alert* a : firing) {
        firing_now.insert(a->fingerprint);
        if (!group->sent.count(a->fingerprint)) changed = true;
      }
      for (const auto& [fingerprint, sent] : group->sent) {
        if (firing_now.count(fingerprint)) continue;
        changed = true;
        // Sent as firing, not firing now: its resolution. The tracker's copy has the time it
        // resolved; an alert that went pending again (or is gone) resolves now.
        auto current = by_fingerprint.find(fingerprint);
        Alert alert =
            current != by_fingerprint.end() && current->second->state == AlertState::kResolved
                ? *current->second
                : sent;
        if (alert.state != AlertState::kResolved) {
          alert.state = AlertState::kResolved;
          alert.resolved_at = now;
        }
        resolved.push_back(std::move(alert));
      }
      const WallTime last = group->last_notified.value_or(WallTime{});
      const bool due = changed ? now >= last + timing.group_interval
                               : !firing.empty() && now >= last + timing.repeat_interval;
      if (!due) continue;
    }
    PlannedNotification plan;
    plan.notification.group_key = key;
    plan.notification.app = app;
    plan.notification.group_labels = group != nullptr ? group->labels : labels_of[key];
    plan.notification.at = now;
    for (const Alert* a : firing) plan.notification.alerts.push_back(*a);
    for (Alert& a : resolved) plan.notification.alerts.push_back(std::move(a));
    SortForNotification(plan.notification.alerts);
    plan.next.key = key;
    plan.next.app = app;
    plan.next.labels = plan.notification.group_labels;
    plan.next.last_notified = now;
    for (const Alert* a : firing) plan.next.sent[a->fingerprint] = *a;
    planned.push_back(std::move(plan));
  }
  return planned;
}

void AlertGroups::Commit(const GroupState& next) {
  if (next.sent.empty()) {
    groups_.erase(next.key);
    return;
  }
  groups_.insert_or_assign(next.key, next);
}

bool AlertGroups::AwaitsResolution(const Alert& alert) const {
  auto it = groups_.find(GroupKey(GroupLabels(alert)));
  return it != groups_.end() && it->second.sent.count(alert.fingerprint) > 0;
}

const GroupState* AlertGroups::Find(const std::string& key) const {
  auto it = groups_.find(key);
  return it == groups_.end() ? nullptr : &it->second;
}

}  // namespace slipway::alerts
