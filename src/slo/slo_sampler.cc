#include "slo/slo_sampler.h"

#include "common/log.h"

namespace slipway::slo {
namespace {

constexpr log::Logger kLog{"slo"};

using SteadyClock = std::chrono::steady_clock;

state::SloMinuteRecord ToRecord(const std::string& app, const MinuteCounts& m) {
  return {.app = app,
          .minute = m.minute,
          .requests = static_cast<std::int64_t>(m.requests),
          .errors = static_cast<std::int64_t>(m.errors),
          .slow = static_cast<std::int64_t>(m.slow),
          .sampled_seconds = m.sampled_seconds,
          .down_seconds = m.down_seconds};
}

MinuteCounts FromRecord(const state::SloMinuteRecord& r) {
  auto count = [](std::int64_t v) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(v, 0));
  };
  return {
      .minute = r.minute,
      .requests = count(r.requests),
      .errors = count(r.errors),
      .slow = count(r.slow),
      .sampled_seconds =
          static_cast<std::uint32_t>(std::clamp<std::int64_t>(r.sampled_seconds, 0, 60)),
      .down_seconds = static_cast<std::uint32_t>(std::clamp<std::int64_t>(r.down_seconds, 0, 60))};
}

nlohmann::json OrNull(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

}  // namespace

SloSampler::SloSampler(SloSamplerEnv env) : env_(std::move(env)), timer_(*env_.io) {}

SloSampler::~SloSampler() {
  *alive_ = false;
  timer_.cancel();
}

std::int64_t SloSampler::NowSecond() const {
  return std::chrono::floor<std::chrono::seconds>(env_.wall_now().time_since_epoch()).count();
}

Status SloSampler::Start() {
  const std::int64_t now_minute = MinuteOf(NowSecond());
  const std::int64_t keep_from = now_minute - kRetention.count() * 60;
  if (auto pruned = env_.store->PruneBefore(keep_from); !pruned) return pruned.error();
  auto rows = env_.store->MinutesSince(now_minute - kLongestWindow.count() / 60);
  if (!rows) return rows.error();
  std::map<std::string, std::vector<MinuteCounts>> by_app;
  for (const state::SloMinuteRecord& r : *rows) by_app[r.app].push_back(FromRecord(r));
  for (auto& [app, minutes] : by_app) apps_[app].ledger.Restore(minutes);
  running_ = true;
  next_flush_ = SteadyClock::now() + kFlushInterval;
  next_prune_ = SteadyClock::now() + std::chrono::hours(1);
  kLog.Info("sampling", {{"apps", by_app.size()}, {"minutes", rows->size()}});
  Tick();
  return Ok();
}

void SloSampler::Stop() {
  if (!running_) return;
  running_ = false;
  timer_.cancel();
  if (Status st = Flush(); !st) {
    kLog.Error("cannot store the last minutes", {{"error", st.error().message}});
  }
}

void SloSampler::Tick() {
  Read(/*serving_samples=*/true);
  const auto now = SteadyClock::now();
  if (now >= next_flush_) {
    next_flush_ = now + kFlushInterval;
    if (Status st = Flush(); !st) {
      kLog.Error("cannot store the minute counts", {{"error", st.error().message}});
    }
  }
  if (now >= next_prune_) {
    next_prune_ = now + std::chrono::hours(1);
    const std::int64_t keep_from = MinuteOf(NowSecond()) - kRetention.count() * 60;
    for (auto& [app, state] : apps_) state.ledger.PruneBefore(keep_from);
    if (auto pruned = env_.store->PruneBefore(keep_from); !pruned) {
      kLog.Error("cannot prune old minutes", {{"error", pruned.error().message}});
    }
  }
  // The next tick just after the next wall-clock second begins, so every second is sampled.
  const auto wall = env_.wall_now().time_since_epoch();
  const auto into_second = wall - std::chrono::floor<std::chrono::seconds>(wall);
  timer_.expires_after(std::chrono::seconds(1) - into_second + std::chrono::milliseconds(5));
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive || !running_) return;
    Tick();
  });
}

void SloSampler::Sample() { Read(/*serving_samples=*/running_); }

void SloSampler::Read(bool serving_samples) {
  if (!env_.read_traffic) return;
  const std::int64_t now = NowSecond();
  for (auto& [app, traffic] : env_.read_traffic()) {
    AppState& state = apps_[app];
    if (traffic.slo) state.slo = traffic.slo;
    // A counter below its previous value belongs to a new start: all of it is new.
    auto delta = [](std::uint64_t now_value, std::uint64_t before) {
      return now_value >= before ? now_value - before : now_value;
    };
    const AppTraffic before = state.seen ? state.last : AppTraffic{};
    state.ledger.AddTraffic(now, delta(traffic.requests, before.requests),
                            delta(traffic.errors, before.errors), delta(traffic.slow, before.slow));
    state.last = traffic;
    state.seen = true;
    if (serving_samples && traffic.serving) state.ledger.AddServingSample(now, traffic.down);
  }
}

Status SloSampler::Flush() {
  Read(/*serving_samples=*/false);
  std::vector<state::SloMinuteRecord> rows;
  for (auto& [app, state] : apps_) {
    for (const MinuteCounts& m : state.ledger.TakeDirty()) rows.push_back(ToRecord(app, m));
  }
  return env_.store->SaveMinutes(rows);
}

std::optional<Judgement> SloSampler::JudgeWindow(const std::string& app, const Objective& objective,
                                                 std::chrono::seconds window) {
  auto it = apps_.find(app);
  if (it == apps_.end()) return std::nullopt;
  return Judge(objective, it->second.ledger.Over(objective, window, NowSecond()));
}

nlohmann::json SloSampler::ReportJson(const std::string& app) {
  Sample();
  nlohmann::json objectives = nlohmann::json::array();
  auto it = apps_.find(app);
  if (it != apps_.end() && it->second.slo) {
    const std::int64_t now = NowSecond();
    for (const Objective& o : ObjectivesOf(*it->second.slo)) {
      nlohmann::json windows = nlohmann::json::array();
      for (const SloWindow& w : kReportWindows) {
        const Judgement j = Judge(o, it->second.ledger.Over(o, w.length, now));
        windows.push_back({{"window", w.name},
                           {"good", j.tally.good},
                           {"bad", j.tally.bad()},
                           {"total", j.tally.total},
                           {"sli", OrNull(j.sli)},
                           {"error_budget_remaining", OrNull(j.budget_remaining)},
                           {"burn_rate", OrNull(j.burn_rate)}});
      }
      nlohmann::json entry = {{"slo", SloKindName(o.kind)},
                              {"target", o.target},
                              {"error_budget", o.budget()},
                              {"counts", o.kind == SloKind::kAvailability ? "minutes" : "requests"},
                              {"description", o.Describe()},
                              {"windows", windows},
                              {"burn_rate_1h", windows[0]["burn_rate"]}};
      if (o.kind == SloKind::kLatency) entry["threshold_ms"] = o.threshold.count();
      if (o.kind == SloKind::kAvailability) entry["minute_error_rate"] = o.minute_error_rate;
      objectives.push_back(std::move(entry));
    }
  }
  return {{"app", app}, {"objectives", objectives}};
}

void SloSampler::WriteMetrics(metrics::ExpositionWriter& out) {
  Sample();
  const std::int64_t now = NowSecond();
  for (auto& [app, state] : apps_) {
    if (!state.slo) continue;
    for (const Objective& o : ObjectivesOf(*state.slo)) {
      const std::string_view slo = SloKindName(o.kind);
      out.Gauge("slipway_slo_objective_ratio",
                "The SLO's target: the share of good events (minutes or requests) to keep.",
                {{"app", app}, {"slo", slo}}, o.target);
      for (const SloWindow& w : kReportWindows) {
        const Judgement j = Judge(o, state.ledger.Over(o, w.length, now));
        const metrics::Labels labels = {{"app", app}, {"slo", slo}, {"window", w.name}};
        out.Gauge("slipway_slo_events",
                  "Events the SLO counted over the window: minutes (availability) or requests.",
                  labels, static_cast<std::int64_t>(j.tally.total));
        out.Gauge("slipway_slo_bad_events",
                  "Of those, bad ones: bad minutes, slow requests, or 5xx answers.", labels,
                  static_cast<std::int64_t>(j.tally.bad()));
        if (!j.sli) continue;  // no events: no SLI, rather than a made-up 100%
        out.Gauge("slipway_slo_sli_ratio", "The share of good events over the window.", labels,
                  *j.sli);
        out.Gauge("slipway_slo_error_budget_remaining_ratio",
                  "1 - (bad share / error budget) over the window; negative when overspent.",
                  labels, *j.budget_remaining);
        out.Gauge("slipway_slo_burn_rate",
                  "How fast the window spends the error budget: 1 spends it exactly.", labels,
                  *j.burn_rate);
      }
    }
  }
}

}  // namespace slipway::slo
