// DeliveryReport: an app's (or every app's) delivery KPIs over a time window, derived from the
// recorded release history alone (releases and their events, which are immutable), never from
// counters that a restart resets. Pure: the caller reads the store and the clock and passes both
// in, so a report over the same history and window is always the same. docs/report.md explains
// each KPI for operators; the definitions below are the contract.
//
// Window and visibility. The window is [since, until). The history is read as it was known at
// `until`: a release created at or after `until` does not exist, one that finished at or after
// `until` is still deploying. A release belongs to the window it was created in; every KPI is
// over the releases of the window ("deploys" below), each of which also looks at the releases
// after it (a later rollback) up to `until`.
//
// Terms.
// - deploy: a release of the window that has finished (succeeded, failed or aborted). A release
//   still deploying is listed as in progress and counted nowhere else.
// - rollback: a release with rollback_of (made by `slipway rollback`). It is a deploy (it counts
//   in the frequency and the success rate) but not a change: it ships nothing new. (A rollback
//   during a canary or blue-green rollout aborts the rollout instead; that is an abort.)
// - change: a deploy that is not a rollback and reached production traffic: it succeeded, or it
//   failed or was aborted after serving users (see traffic_exposure.h). A deploy that failed
//   before serving anybody is a failed deploy (success rate), not a change failure.
// - failed change: a change that (a) succeeded and was the serving release when a rollback to an
//   earlier release (rollback_of < its number) was created, or (b) failed or was aborted after
//   serving users. Slipway cannot see a failure fixed forward by a new release, nor one nobody
//   acted on.
// - serving: a release serves from its finished_at (when it is recorded succeeded, with all
//   traffic) until the next succeeded release of the app finishes.
// - incident: one per failed change. It starts when the change began to serve users: (a) its
//   finished_at, (b) its first production traffic. It is restored (a) when the next succeeded
//   release finishes (the rollback, or whatever replaced it), (b) at its own finished_at (the
//   outcome is stored once the traffic is back on the release that served before). Until then it
//   is open.
//
// KPIs (durations in integer milliseconds; ratios and rates unrounded doubles).
// - deployment_frequency = succeeded deploys x 86 400 000 / window length in ms (per day), and
//   x 604 800 000 (per week), each one correctly rounded division. No target.
// - lead_time = created_at -> finished_at of each succeeded change (release created to serving;
//   Slipway has no commit time, so this is the deploy part of DORA's lead time). p50 and p90 by
//   nearest rank (the ceil(q x n)-th smallest sample, always a real sample). No target.
// - deploy_success_rate = succeeded / deploys. Target > 0.95. n/a without deploys.
// - change_failure_rate = failed changes / changes. No target (n/a).
// - mean_time_to_restore = mean of (restored - started) over restored incidents, rounded to the
//   nearest millisecond (halves up). Target < 30 min. No incident: value null and pass. It fails
//   when the mean reaches the target or an open incident has already lasted that long (its time
//   can only grow); only open incidents, all shorter: n/a.
// - rollback_duration = created_at -> finished_at of each succeeded rollback; value is the
//   longest (the target holds for every rollback), mean beside it. Target < 15 min. No rollback:
//   value null and pass. It fails when any rollback took that long, a rollback failed or was
//   aborted (it never restored anything), or one in progress has already run that long.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "state/release_store.h"

namespace slipway::report {

struct Window {
  std::int64_t since_ms = 0;  // inclusive, ms since the epoch
  std::int64_t until_ms = 0;  // exclusive; normally "now"
};

// One app's whole recorded history.
struct AppHistory {
  std::string app;
  std::vector<state::Release> releases;  // every release of the app, any order
  // The events of its failed and aborted releases (others may be included; they are ignored),
  // for whether those served production traffic.
  std::vector<state::Event> events;
};

enum class Mark { kPass, kFail, kNotApplicable };
const char* MarkName(Mark mark);  // "pass", "fail", "n/a"

// What the value is compared with: pass when `value op target`.
struct Target {
  enum class Op { kGreater, kLess };
  Op op = Op::kLess;
  double value = 0;
};
inline constexpr Target kSuccessRateTarget{Target::Op::kGreater, 0.95};
inline constexpr Target kMttrTarget{Target::Op::kLess, 30 * 60 * 1000.0};
inline constexpr Target kRollbackTarget{Target::Op::kLess, 15 * 60 * 1000.0};

struct ReleaseRef {
  std::string app;
  std::int64_t number = 0;
  std::string created_at;
  std::optional<std::int64_t> rollback_of;
};

struct Incident {
  std::string app;
  std::int64_t release = 0;  // the failed change
  // "rolled_back": succeeded, then replaced by a rollback; "failed" / "aborted": its deploy
  // ended so after it had served users.
  std::string kind;
  std::int64_t started_ms = 0;
  std::optional<std::int64_t> restored_ms;  // nullopt while open
  std::optional<std::int64_t> restored_by;  // the release whose finish restored it (kind
                                            // "rolled_back"); nullopt for failed / aborted
};

struct DeliveryReport {
  Window window;
  std::vector<std::string> apps;  // the apps it covers, sorted

  int deploys = 0;  // finished releases of the window
  int succeeded = 0;
  int failed = 0;
  int aborted = 0;
  std::vector<ReleaseRef> in_progress;  // deploying at `until`, oldest first

  double per_day = 0;  // deployment_frequency
  double per_week = 0;

  int lead_time_samples = 0;
  std::optional<std::int64_t> lead_time_p50_ms;
  std::optional<std::int64_t> lead_time_p90_ms;

  std::optional<double> success_rate;
  Mark success_mark = Mark::kNotApplicable;

  int changes = 0;
  int failed_changes = 0;
  std::optional<double> change_failure_rate;

  std::vector<Incident> incidents;  // by start time
  int restored_incidents = 0;
  std::optional<std::int64_t> mttr_ms;
  Mark mttr_mark = Mark::kPass;

  int rollbacks = 0;  // finished rollback releases of the window
  int rollbacks_succeeded = 0;
  std::optional<std::int64_t> rollback_max_ms;
  std::optional<std::int64_t> rollback_mean_ms;  // nearest ms, halves up
  Mark rollback_mark = Mark::kPass;

  // fail when any KPI with a target fails; pass otherwise.
  Mark overall = Mark::kPass;
};

// The report over `histories` (one or more apps, pooled: every KPI is computed from all their
// samples together, not averaged per app). An error when a timestamp in them cannot be read
// (the store writes only valid ones) or the window is empty.
Result<DeliveryReport> BuildDeliveryReport(const std::vector<AppHistory>& histories, Window window);

}  // namespace slipway::report
