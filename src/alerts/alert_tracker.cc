#include "alerts/alert_tracker.h"

namespace slipway::alerts {

std::vector<AlertTracker::Change> AlertTracker::Apply(const std::string& app,
                                                      const std::string& rule,
                                                      std::chrono::milliseconds for_duration,
                                                      const std::vector<AlertSample>& samples,
                                                      WallTime now) {
  std::vector<Change> changes;
  std::set<std::string> seen;
  for (const AlertSample& sample : samples) {
    const std::string fingerprint = Fingerprint(sample.labels);
    seen.insert(fingerprint);
    auto key = std::make_pair(app, fingerprint);
    auto it = alerts_.find(key);
    if (sample.truth == Truth::kUnknown) {
      if (it != alerts_.end() && it->second.state != AlertState::kResolved) {
        it->second.value = sample.value;  // shown, though it decides nothing
      }
      continue;
    }
    if (sample.truth == Truth::kFalse) {
      if (it == alerts_.end()) continue;
      Alert& alert = it->second;
      if (alert.state == AlertState::kPending) {
        changes.push_back({alert, true});
        alerts_.erase(it);
      } else if (alert.state == AlertState::kFiring) {
        alert.state = AlertState::kResolved;
        alert.resolved_at = now;
        alert.value = sample.value;
        changes.push_back({alert, false});
      }
      continue;
    }
    // The condition holds.
    bool created = false;
    if (it == alerts_.end() || it->second.state == AlertState::kResolved) {
      Alert alert;
      alert.app = app;
      alert.rule = rule;
      alert.labels = sample.labels;
      alert.fingerprint = fingerprint;
      alert.state = AlertState::kPending;
      alert.active_since = now;
      it = alerts_.insert_or_assign(key, std::move(alert)).first;
      created = true;
    }
    Alert& alert = it->second;
    alert.annotations = sample.annotations;
    alert.value = sample.value;
    alert.metric = sample.metric;
    if (alert.state == AlertState::kPending && now - alert.active_since >= for_duration) {
      alert.state = AlertState::kFiring;
      alert.fired_at = now;
      changes.push_back({alert, false});
    } else if (created) {
      changes.push_back({alert, false});
    }
  }
  // Instances of this rule that the evaluation no longer sees are false.
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    Alert& alert = it->second;
    if (alert.app != app || alert.rule != rule || seen.count(alert.fingerprint)) {
      ++it;
      continue;
    }
    if (alert.state == AlertState::kPending) {
      changes.push_back({alert, true});
      it = alerts_.erase(it);
      continue;
    }
    if (alert.state == AlertState::kFiring) {
      alert.state = AlertState::kResolved;
      alert.resolved_at = now;
      changes.push_back({alert, false});
    }
    ++it;
  }
  return changes;
}

std::vector<AlertTracker::Change> AlertTracker::Expire(
    WallTime now, std::chrono::milliseconds retention,
    const std::function<bool(const Alert&)>& keep) {
  std::vector<Change> changes;
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    const Alert& alert = it->second;
    if (alert.state == AlertState::kResolved && alert.resolved_at &&
        now - *alert.resolved_at >= retention && !(keep && keep(alert))) {
      changes.push_back({alert, true});
      it = alerts_.erase(it);
    } else {
      ++it;
    }
  }
  return changes;
}

void AlertTracker::Restore(Alert alert) {
  auto key = std::make_pair(alert.app, alert.fingerprint);
  alerts_.insert_or_assign(std::move(key), std::move(alert));
}

std::vector<const Alert*> AlertTracker::Alerts(const std::string& app) const {
  std::vector<const Alert*> out;
  for (const auto& [key, alert] : alerts_) {
    if (app.empty() || key.first == app) out.push_back(&alert);
  }
  return out;
}

const Alert* AlertTracker::Find(const std::string& app, const std::string& fingerprint) const {
  auto it = alerts_.find(std::make_pair(app, fingerprint));
  return it == alerts_.end() ? nullptr : &it->second;
}

std::set<std::string> AlertTracker::RulesWithAlerts(const std::string& app) const {
  std::set<std::string> rules;
  for (const auto& [key, alert] : alerts_) {
    if (key.first == app) rules.insert(alert.rule);
  }
  return rules;
}

}  // namespace slipway::alerts
