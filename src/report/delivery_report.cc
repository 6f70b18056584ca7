#include "report/delivery_report.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "report/timestamp.h"
#include "report/traffic_exposure.h"

namespace slipway::report {
namespace {

constexpr double kMsPerDay = 86'400'000.0;
constexpr double kMsPerWeek = 7 * kMsPerDay;

// A release as known at `until`, with its times read.
struct Seen {
  const state::Release* release = nullptr;
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> finished_ms;  // nullopt: still deploying at `until`
  state::Outcome outcome = state::Outcome::kDeploying;
};

Result<std::int64_t> ReadTime(const state::Release& r, const char* field, const std::string& text) {
  auto ms = ParseTimestampMs(text);
  if (!ms) {
    return Error{fmt::format("report: {} release {} has an unreadable {} \"{}\"", r.app, r.number,
                             field, text)};
  }
  return *ms;
}

// The releases of one app that exist at `until`, by number.
Result<std::vector<Seen>> SeenAt(const AppHistory& h, std::int64_t until_ms) {
  std::vector<Seen> seen;
  for (const auto& r : h.releases) {
    auto created = ReadTime(r, "created_at", r.created_at);
    if (!created) return created.error();
    if (*created >= until_ms) continue;
    Seen s{&r, *created, std::nullopt, state::Outcome::kDeploying};
    if (r.outcome != state::Outcome::kDeploying) {
      auto finished = ReadTime(r, "finished_at", r.finished_at);
      if (!finished) return finished.error();
      if (*finished < until_ms) {
        s.finished_ms = *finished;
        s.outcome = r.outcome;
      }
    }
    seen.push_back(s);
  }
  std::sort(seen.begin(), seen.end(),
            [](const Seen& a, const Seen& b) { return a.release->number < b.release->number; });
  return seen;
}

// The ceil(q x n)-th smallest of `sorted` (nearest rank); requires a non-empty vector.
std::int64_t NearestRank(const std::vector<std::int64_t>& sorted, double q) {
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// Mean of non-negative integers, to the nearest integer, halves up (exact: no floating point).
std::int64_t RoundedMean(const std::vector<std::int64_t>& values) {
  std::int64_t sum = 0;
  for (auto v : values) sum += v;
  const auto n = static_cast<std::int64_t>(values.size());
  return (sum + n / 2) / n;
}

bool Meets(double value, Target t) {
  return t.op == Target::Op::kGreater ? value > t.value : value < t.value;
}

// Everything one app contributes to the pooled report.
struct Samples {
  std::vector<std::int64_t> lead_times;
  std::vector<std::int64_t> rollback_durations;
  bool rollback_unsuccessful = false;         // a finished rollback that did not succeed
  bool rollback_running_past_target = false;  // one in progress already too long
};

Status AddApp(const AppHistory& h, Window w, DeliveryReport& report, Samples& samples) {
  auto seen_or = SeenAt(h, w.until_ms);
  if (!seen_or) return seen_or.error();
  const std::vector<Seen>& seen = *seen_or;

  // The succeeded releases in the order they started serving, and the rollbacks.
  std::vector<const Seen*> served;
  std::vector<const Seen*> rollbacks;
  for (const auto& s : seen) {
    if (s.outcome == state::Outcome::kSucceeded) served.push_back(&s);
    if (s.release->rollback_of) rollbacks.push_back(&s);
  }
  std::stable_sort(served.begin(), served.end(),
                   [](const Seen* a, const Seen* b) { return *a->finished_ms < *b->finished_ms; });
  // The first succeeded release that finished after `s` began to serve: the one that replaced it.
  auto successor = [&](const Seen& s) -> const Seen* {
    auto next =
        std::upper_bound(served.begin(), served.end(), *s.finished_ms,
                         [](std::int64_t t, const Seen* other) { return t < *other->finished_ms; });
    return next == served.end() ? nullptr : *next;
  };

  for (const auto& s : seen) {
    if (s.created_ms < w.since_ms) continue;
    const state::Release& r = *s.release;
    const bool rollback = r.rollback_of.has_value();
    if (!s.finished_ms) {
      report.in_progress.push_back({h.app, r.number, r.created_at, r.rollback_of});
      if (rollback && w.until_ms - s.created_ms >= kRollbackTarget.value) {
        samples.rollback_running_past_target = true;
      }
      continue;
    }
    ++report.deploys;
    const std::int64_t took = *s.finished_ms - s.created_ms;
    switch (s.outcome) {
      case state::Outcome::kSucceeded:
        ++report.succeeded;
        break;
      case state::Outcome::kFailed:
        ++report.failed;
        break;
      case state::Outcome::kAborted:
        ++report.aborted;
        break;
      case state::Outcome::kDeploying:
        break;
    }
    if (rollback) {
      ++report.rollbacks;
      if (s.outcome == state::Outcome::kSucceeded) {
        ++report.rollbacks_succeeded;
        samples.rollback_durations.push_back(took);
      } else {
        samples.rollback_unsuccessful = true;
      }
      continue;  // a rollback ships no change
    }

    if (s.outcome == state::Outcome::kSucceeded) {
      ++report.changes;
      samples.lead_times.push_back(took);
      // Rolled back: a rollback to an earlier release was created while this one served.
      const Seen* next = successor(s);
      const std::int64_t served_until = next ? *next->finished_ms : w.until_ms;
      const bool rolled_back = std::any_of(rollbacks.begin(), rollbacks.end(), [&](const Seen* k) {
        return *k->release->rollback_of < r.number && k->created_ms >= *s.finished_ms &&
               k->created_ms < served_until;
      });
      if (rolled_back) {
        ++report.failed_changes;
        // Restored when the release that replaced it finished (open while none has).
        report.incidents.push_back(
            {.app = h.app,
             .release = r.number,
             .kind = "rolled_back",
             .started_ms = *s.finished_ms,
             .restored_ms = next ? next->finished_ms : std::nullopt,
             .restored_by = next ? std::optional(next->release->number) : std::nullopt});
      }
      continue;
    }

    // Failed or aborted: a change failure only when it had served users.
    auto exposed_at = FirstProductionTraffic(r, h.events);
    if (!exposed_at) continue;
    auto exposed_ms = ParseTimestampMs(*exposed_at);
    if (!exposed_ms) {
      return Error{fmt::format("report: {} release {} has an event with an unreadable time \"{}\"",
                               h.app, r.number, *exposed_at)};
    }
    if (*exposed_ms > *s.finished_ms) continue;  // not during its deploy
    ++report.changes;
    ++report.failed_changes;
    report.incidents.push_back({.app = h.app,
                                .release = r.number,
                                .kind = state::OutcomeName(s.outcome),
                                .started_ms = *exposed_ms,
                                .restored_ms = *s.finished_ms,
                                .restored_by = std::nullopt});
  }
  return Ok();
}

}  // namespace

const char* MarkName(Mark mark) {
  switch (mark) {
    case Mark::kPass:
      return "pass";
    case Mark::kFail:
      return "fail";
    case Mark::kNotApplicable:
      return "n/a";
  }
  return "n/a";
}

Result<DeliveryReport> BuildDeliveryReport(const std::vector<AppHistory>& histories,
                                           Window window) {
  if (window.until_ms <= window.since_ms) {
    return Error{"report: the window is empty (since must be before until)"};
  }
  DeliveryReport report;
  report.window = window;
  Samples samples;
  for (const auto& h : histories) {
    report.apps.push_back(h.app);
    if (Status st = AddApp(h, window, report, samples); !st) return st.error();
  }
  std::sort(report.apps.begin(), report.apps.end());
  std::stable_sort(report.in_progress.begin(), report.in_progress.end(),
                   [](const ReleaseRef& a, const ReleaseRef& b) {
                     return a.created_at < b.created_at;  // one format: text order is time order
                   });
  std::stable_sort(
      report.incidents.begin(), report.incidents.end(),
      [](const Incident& a, const Incident& b) { return a.started_ms < b.started_ms; });

  const double window_ms = static_cast<double>(window.until_ms - window.since_ms);
  // One division of exact integers (as doubles): the correctly rounded rate.
  report.per_day = report.succeeded * kMsPerDay / window_ms;
  report.per_week = report.succeeded * kMsPerWeek / window_ms;

  auto& lead = samples.lead_times;
  std::sort(lead.begin(), lead.end());
  report.lead_time_samples = static_cast<int>(lead.size());
  if (!lead.empty()) {
    report.lead_time_p50_ms = NearestRank(lead, 0.5);
    report.lead_time_p90_ms = NearestRank(lead, 0.9);
  }

  if (report.deploys > 0) {
    report.success_rate = static_cast<double>(report.succeeded) / report.deploys;
    report.success_mark =
        Meets(*report.success_rate, kSuccessRateTarget) ? Mark::kPass : Mark::kFail;
  }

  if (report.changes > 0) {
    report.change_failure_rate = static_cast<double>(report.failed_changes) / report.changes;
  }

  std::vector<std::int64_t> restore_times;
  bool open_past_target = false;
  for (const auto& i : report.incidents) {
    if (i.restored_ms) {
      restore_times.push_back(*i.restored_ms - i.started_ms);
    } else if (window.until_ms - i.started_ms >= kMttrTarget.value) {
      open_past_target = true;
    }
  }
  report.restored_incidents = static_cast<int>(restore_times.size());
  if (!restore_times.empty()) report.mttr_ms = RoundedMean(restore_times);
  if (report.incidents.empty()) {
    report.mttr_mark = Mark::kPass;
  } else if (open_past_target ||
             (report.mttr_ms && !Meets(static_cast<double>(*report.mttr_ms), kMttrTarget))) {
    report.mttr_mark = Mark::kFail;
  } else {
    report.mttr_mark = report.mttr_ms ? Mark::kPass : Mark::kNotApplicable;
  }

  auto& rollbacks = samples.rollback_durations;
  if (!rollbacks.empty()) {
    report.rollback_max_ms = *std::max_element(rollbacks.begin(), rollbacks.end());
    report.rollback_mean_ms = RoundedMean(rollbacks);
  }
  const bool rollback_too_slow =
      report.rollback_max_ms &&
      !Meets(static_cast<double>(*report.rollback_max_ms), kRollbackTarget);
  report.rollback_mark =
      rollback_too_slow || samples.rollback_unsuccessful || samples.rollback_running_past_target
          ? Mark::kFail
          : Mark::kPass;

  const bool any_fail = report.success_mark == Mark::kFail || report.mttr_mark == Mark::kFail ||
                        report.rollback_mark == Mark::kFail;
  report.overall = any_fail ? Mark::kFail : Mark::kPass;
  return report;
}

}  // namespace slipway::report
