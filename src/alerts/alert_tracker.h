// AlertTracker: the state of every alert instance, moved by each evaluation of its rule.
//
//   condition   inactive          pending                      firing         resolved
//   true        -> pending (*)    -> firing once `for` passed  stays          -> pending (*)
//   false       stays             -> inactive (forgotten)      -> resolved    stays
//   unknown     stays             stays                        stays          stays
//   (*) straight to firing when `for` is 0
//
// "Unknown" (no data, e.g. no requests in the window, or empty windows after a daemon restart)
// changes nothing: an alert neither fires nor resolves on a guess. Time is injected (wall clock,
// see alert.h), so the machine is tested without waiting. Not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "alerts/alert.h"
#include "alerts/alert_rules.h"

namespace slipway::alerts {

class AlertTracker {
 public:
  // An alert whose state changed and should be stored again, or forgotten when `removed`.
  struct Change {
    Alert alert;
    bool removed = false;
  };

  // One evaluation of rule `rule` of `app` at `now`: `samples` are the instances it sees; any
  // other instance of that rule is judged false. Returns what changed.
  std::vector<Change> Apply(const std::string& app, const std::string& rule,
                            std::chrono::milliseconds for_duration,
                            const std::vector<AlertSample>& samples, WallTime now);
  // Forgets alerts resolved longer than `retention` ago unless `keep` holds for them (their
  // group has not sent the resolution yet).
  std::vector<Change> Expire(WallTime now, std::chrono::milliseconds retention,
                             const std::function<bool(const Alert&)>& keep);
  // An alert as stored by a previous daemon.
  void Restore(Alert alert);

  // Alerts of `app` (every app when empty), ordered by app and fingerprint.
  std::vector<const Alert*> Alerts(const std::string& app = "") const;
  const Alert* Find(const std::string& app, const std::string& fingerprint) const;
  // The rules of `app` that have alerts.
  std::set<std::string> RulesWithAlerts(const std::string& app) const;

 private:
  std::map<std::pair<std::string, std::string>, Alert> alerts_;  // (app, fingerprint)
};

}  // namespace slipway::alerts
