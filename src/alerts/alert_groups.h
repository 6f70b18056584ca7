// AlertGroups: grouping and deduplication of notifications, after Alertmanager's, simplified.
// Alerts group by alertname + app. A group notifies when what it would say changes, not at every
// evaluation:
//   - the first notification of a group waits `group_wait` after its first alert fired (so
//     alerts firing together go out together);
//   - after that, a change (an alert starts firing, or one that was sent as firing is not firing
//     any more) waits until `group_interval` has passed since the group's previous notification;
//   - an unchanged group with firing alerts is sent again after `repeat_interval`.
// A flapping alert therefore costs at most one notification per group_interval, and one that
// resolves and fires again between two notifications costs none. Pending alerts are never sent;
// an alert that fired and resolved before its group's first notification is not sent either.
// Each group remembers the firing alerts it last sent (GroupState); Due() plans, Commit() applies
// a plan once the caller has stored it. Not thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "alerts/alert.h"

namespace slipway::alerts {

struct GroupTiming {
  std::chrono::milliseconds group_wait{30'000};
  std::chrono::milliseconds group_interval{300'000};
  std::chrono::milliseconds repeat_interval{4 * 3'600'000};
};

struct GroupState {
  std::string key;  // GroupKey(labels)
  std::string app;
  Labels labels;                      // alertname, app
  std::map<std::string, Alert> sent;  // fingerprint -> the firing alert as last sent
  std::optional<WallTime> last_notified;

  // For the store: {"labels": {...}, "sent": [alert, ...]}.
  std::string ToJson() const;
  static std::optional<GroupState> FromJson(const std::string& key, const std::string& app,
                                            const std::string& json,
                                            std::optional<WallTime> last_notified);
};

// One notification of a group: its firing alerts and those resolved since its previous one.
struct Notification {
  std::string group_key;
  std::string app;
  Labels group_labels;
  std::vector<Alert> alerts;  // firing first, then resolved; each by start time, then fingerprint
  WallTime at;

  bool firing() const;  // any alert firing: the body's status
};

struct PlannedNotification {
  Notification notification;
  GroupState next;  // the group after it; `sent` empty when nothing fires any more
};

// Alertmanager's group key for the root route: `{}:{alertname="X", app="y"}`.
std::string GroupKey(const Labels& group_labels);
// The labels an alert is grouped by.
Labels GroupLabels(const Alert& alert);

class AlertGroups {
 public:
  void Restore(GroupState state);
  // The notifications that `alerts` (every alert of `app`) call for at `now`.
  std::vector<PlannedNotification> Due(const std::string& app,
                                       const std::vector<const Alert*>& alerts,
                                       const GroupTiming& timing, WallTime now) const;
  // Makes `next` the group's state (forgets the group when nothing in it fires).
  void Commit(const GroupState& next);
  // Whether the group of `alert` still has it as sent firing (its resolution is not sent yet).
  bool AwaitsResolution(const Alert& alert) const;
  const GroupState* Find(const std::string& key) const;

 private:
  std::map<std::string, GroupState> groups_;  // by key
};

// An alert as stored and sent inside a group's state.
nlohmann::json AlertToJson(const Alert& alert);
std::optional<Alert> AlertFromJson(const nlohmann::json& json);

}  // namespace slipway::alerts
