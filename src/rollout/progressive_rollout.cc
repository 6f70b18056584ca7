// Progressive rollouts: canary steps and blue-green, judged by analysis of the proxy's own
// per-release counts. Every transition (step, weight, pause, switch, abort) is stored before it
// takes effect, so that a restarted daemon continues from the step it was on
// (ResumeProgressive). One Tick re-evaluates everything; it runs on a timer (the analysis
// interval, at most 250 ms apart) and whenever a replica changes.
#include <cmath>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "analysis/analysis_run.h"
#include "analysis/canary_judge.h"
#include "common/log.h"
#include "rollout/app_controller.h"
#include "rollout/rolling_plan.h"
#include "spec/delivery_reader.h"
#include "spec/spec_parser.h"

namespace slipway::rollout {

constexpr log::Logger kLog{"rollout"};

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kCrashLoopRestarts = 3;  // restarts of one new replica that abort a rollout
constexpr auto kTickEvery = std::chrono::milliseconds(250);

std::int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string StepText(const spec::CanaryStep& step) {
  switch (step.kind) {
    case spec::CanaryStep::Kind::kWeight:
      return fmt::format("weight {}%", step.weight);
    case spec::CanaryStep::Kind::kPause:
      return step.pause ? "pause " + FormatDuration(*step.pause)
                        : std::string("pause until resumed");
    case spec::CanaryStep::Kind::kAnalysis:
      return "analysis " + FormatDuration(step.analysis);
  }
  return "?";
}

nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

nlohmann::json ChecksJson(const analysis::Evaluation& e) {
  nlohmann::json checks = nlohmann::json::array();
  for (const analysis::CheckResult& c : e.checks) {
    checks.push_back({{"name", c.name},
                      {"metric", spec::AnalysisMetricName(c.metric)},
                      {"verdict", analysis::VerdictName(c.verdict)},
                      {"value", Number(c.value)},
                      {"baseline", Number(c.baseline)},
                      {"threshold", Number(c.threshold)},
                      {"samples", c.samples},
                      {"baseline_samples", c.baseline_samples},
                      {"message", c.message}});
  }
  return checks;
}

}  // namespace

struct AppController::Progressive {
  state::Release release;
  spec::AppSpec spec;
  state::RolloutRecord record;  // as stored; Save() writes it
  bool blue_green = false;
  bool fast = false;  // a rollback: the whole set at once, no preview wait, no scale-down delay
  Clock::time_point started;       // when this daemon started (or resumed) the rollout
  Clock::time_point step_started;  // this daemon's clock; record.step_elapsed_ms adds to it
  Clock::time_point last_progress;
  Clock::time_point next_evaluation;
  int new_ready = 0;  // ready new replicas at the last tick (progress)
  analysis::AnalysisRun run;
  std::optional<analysis::Evaluation> last;
  std::unique_ptr<asio::steady_timer> timer;
  bool tick_posted = false;
  bool over = false;
  std::function<void(Status)> done;

  Progressive(state::Release r, spec::AppSpec s)
      : release(std::move(r)), spec(std::move(s)), run(spec.analysis) {}
  int steps() const { return static_cast<int>(spec.canary.steps.size()); }
};

// --- start and resume ------------------------------------------------------------------------

void AppController::StartProgressive(state::Release release, spec::AppSpec spec,
                                     std::function<void(Status)> done) {
  auto p = std::make_shared<Progressive>(release, spec);
  p->fast = release.rollback_of.has_value();
  p->blue_green = p->fast || spec.strategy == spec::Strategy::kBlueGreen;
  p->done = std::move(done);
  p->record.app = app_;
  p->record.release = release.number;
  p->record.strategy = p->fast ? "blue-green" : spec::StrategyName(spec.strategy);
  p->record.baseline = serving_release_;
  p->record.phase = "starting";
  auto now = Clock::now();
  p->started = now;
  p->step_started = now;
  p->last_progress = now;
  p->next_evaluation = now;
  p->record.step_started_ms = WallMs();
  progressive_ = p;
  canary_release_ = release.number;
  canary_weight_ = 0;
  canary_header_ = spec.strategy == spec::Strategy::kCanary ? spec.canary.header : "";
  sticky_cookie_ = spec.strategy == spec::Strategy::kCanary ? spec.canary.sticky_cookie : "";
  if (!Save(*p)) return;
  std::string plan;
  if (p->fast) {
    plan = fmt::format(
        "rollback to the spec of release {}: {} replica(s) at once, then all "
        "traffic",
        *release.rollback_of, spec.replicas);
  } else if (p->blue_green) {
    plan = fmt::format("blue-green: {} new replica(s) beside release {}{}, then {}", spec.replicas,
                       *serving_release_,
                       spec.blue_green.preview_listen.empty()
                           ? ""
                           : " (preview on " + spec.blue_green.preview_listen + ")",
                       spec.blue_green.auto_promote
                           ? "promotion after " + FormatDuration(*spec.blue_green.auto_promote)
                           : std::string("promotion by `slipway promote`"));
  } else {
    std::vector<std::string> steps;
    for (const auto& s : spec.canary.steps) steps.push_back(StepText(s));
    plan = fmt::format("canary beside release {}: {}", *serving_release_, fmt::join(steps, ", "));
  }
  Event(release.number, "rollout.started", plan);
  Tick(p);
}

void AppController::ResumeProgressive(state::Release release, spec::AppSpec spec,
                                      state::RolloutRecord record,
                                      std::optional<state::Release> serving,
                                      std::optional<spec::AppSpec> serving_spec,
                                      std::function<void(Status)> done) {
  deploying_release_ = release.number;
  if (serving && serving_spec) {
    serving_release_ = serving->number;
    serving_spec_ = *serving_spec;
  }
  auto p = std::make_shared<Progressive>(release, spec);
  p->fast = release.rollback_of.has_value();
  p->blue_green = p->fast || spec.strategy == spec::Strategy::kBlueGreen;
  p->done = std::move(done);
  auto now = Clock::now();
  // Time the step ran before the crash, downtime included (a timed pause is wall-clock time).
  if (!record.paused && record.step_started_ms > 0) {
    record.step_elapsed_ms += std::max<std::int64_t>(0, WallMs() - record.step_started_ms);
  }
  record.step_started_ms = WallMs();
  p->record = record;
  p->started = now;
  p->step_started = now;
  p->last_progress = now;
  p->next_evaluation = now + spec.analysis.interval;
  progressive_ = p;
  canary_release_ = release.number;
  canary_weight_ = record.weight;
  canary_header_ = spec.strategy == spec::Strategy::kCanary ? spec.canary.header : "";
  sticky_cookie_ = spec.strategy == spec::Strategy::kCanary ? spec.canary.sticky_cookie : "";
  // The adopted replicas that served are in the pool before the listener opens: no request of
  // the restarted daemon finds an empty pool.
  if (Status st = EnsureListener(serving_spec ? *serving_spec : spec); !st) {
    progressive_.reset();
    canary_release_.reset();
    (void)env_.store->FinishRelease(app_, release.number, state::Outcome::kAborted,
                                    "proxy: " + st.error().message);
    deploying_release_.reset();
    if (p->done) p->done(st);
    return;
  }
  Event(release.number, "rollout.resumed",
        fmt::format("daemon restarted; continuing the {} rollout of release {} at {} (weight "
                    "{}%{})",
                    record.strategy, release.number, record.phase, record.weight,
                    record.paused ? ", paused" : ""));
  if (record.phase == "aborted") {
    // The abort was stored but the daemon died before it finished: finish it.
    AbortProgressive(*p, record.pause_reason.empty() ? "aborted before the daemon restarted"
                                                     : record.pause_reason);
    return;
  }
  if (record.phase == "succeeded") {
    FinishProgressive(*p);
    return;
  }
  if (!Save(*p)) return;
  PublishPool();
  Tick(p);
}

// --- the loop --------------------------------------------------------------------------------

bool AppController::Save(Progressive& p) {
  Status st = env_.store->SaveRollout(p.record);
  if (st) return true;
  // Without its record a transition must not happen: a restart would not know of it.
  kLog.Error("cannot store rollout progress",
             {{"app", app_}, {"release", p.release.number}, {"error", st.error().message}});
  if (!p.over && p.record.phase != "aborted") {
    p.record.phase = "aborted";
    AbortProgressive(p, "state: cannot store the rollout's progress: " + st.error().message);
  }
  return false;
}

void AppController::ScheduleTick(const std::shared_ptr<Progressive>& p, Clock::duration after) {
  if (!p->timer) p->timer = std::make_unique<asio::steady_timer>(*env_.io);
  p->timer->expires_after(after);
  p->timer->async_wait([this, alive = alive_, p](boost::system::error_code ec) {
    if (ec || !*alive || progressive_ != p) return;
    Tick(p);
  });
}

Millis AppController::StepElapsed(const Progressive& p, Clock::time_point now) const {
  Millis running =
      p.record.paused ? Millis(0) : std::chrono::duration_cast<Millis>(now - p.step_started);
  return Millis(p.record.step_elapsed_ms) + running;
}

void AppController::WakeProgressive() {
  if (!progressive_ || progressive_->tick_posted) return;
  progressive_->tick_posted = true;
  asio::post(*env_.io, [this, alive = alive_, p = progressive_] {
    if (!*alive) return;
    p->tick_posted = false;
    if (progressive_ == p) Tick(p);
  });
}

void AppController::DetachProgressive() {
  if (!progressive_) return;
  // Daemon shutdown: the rollout stays stored as it is and continues after the restart.
  progressive_->over = true;
  if (progressive_->timer) progressive_->timer->cancel();
  progressive_.reset();
  canary_release_.reset();
  canary_weight_ = 0;
}

void AppController::Tick(std::shared_ptr<Progressive> p) {
  if (!p || p->over || progressive_ != p) return;
  Reap();
  const auto now = Clock::now();

  // Keep the stable release at its size (a replica may have died while the canary ran).
  if (serving_release_ && serving_spec_ && p->record.phase != "scale_down") {
    int stable = 0;
    for (auto& u : units_) {
      if (u->release() == *serving_release_ && !u->retiring() && !u->stopped()) ++stable;
    }
    for (int i = stable; i < serving_spec_->replicas; ++i) {
      if (!StartUnit(*serving_release_, *serving_spec_)) break;
    }
  }

  if (std::string why = CheckNewReplicas(*p, now); !why.empty()) {
    AbortProgressive(*p, why);
    return;
  }
  if (p->over) return;

  // Analysis runs while the new release gets public traffic.
  if (canary_weight_ > 0 && now >= p->next_evaluation) {
    p->next_evaluation = now + p->spec.analysis.interval;
    Evaluate(*p, now);
    if (p->over) return;
  }

  if (p->blue_green) {
    AdvanceBlueGreen(*p, now);
  } else {
    AdvanceCanary(*p, now);
  }
  if (p->over) return;

  // Progress deadline: time without a step finished or a replica becoming ready, not counting
  // pauses (manual or timed) or the blue-green scale-down delay.
  const bool waiting_on_purpose =
      p->record.paused || p->record.phase == "scale_down" || p->record.phase == "preview" ||
      (!p->blue_green && p->record.phase == "steps" && p->record.step < p->steps() &&
       p->spec.canary.steps[static_cast<std::size_t>(p->record.step)].kind ==
           spec::CanaryStep::Kind::kPause);
  if (waiting_on_purpose) p->last_progress = now;
  if (now - p->last_progress >= p->spec.progress_deadline.after) {
    std::string why = fmt::format("no progress for {} (strategy.progress_deadline) at {}{}",
                                  FormatDuration(p->spec.progress_deadline.after), p->record.phase,
                                  p->last ? "; last analysis: " + p->last->summary : std::string());
    if (p->spec.progress_deadline.abort) {
      AbortProgressive(*p, why);
      return;
    }
    PauseProgressive(*p, why);
  }
  PublishPool();
  ScheduleTick(p, std::min<Clock::duration>(kTickEvery, p->spec.analysis.interval));
}

std::string AppController::CheckNewReplicas(Progressive& p, Clock::time_point now) {
  int ready = 0;
  for (auto& u : units_) {
    if (u->release() != p.release.number || u->retiring()) continue;
    if (!u->fatal_error().empty()) return u->fatal_error();
    if (!u->ever_ready() && now >= u->startup_deadline()) {
      return fmt::format("replica {} did not become ready within its start-up budget of {}: {}",
                         u->name(), FormatDuration(p.spec.readiness.startup_timeout),
                         u->not_ready_reason());
    }
    if (u->restarts() >= kCrashLoopRestarts) {
      return fmt::format("replica {} is crash-looping: restarted {} times ({})", u->name(),
                         u->restarts(), u->not_ready_reason());
    }
    if (u->ever_ready() && !u->ready()) {
      return fmt::format("replica {} lost readiness: {}", u->name(), u->not_ready_reason());
    }
    if (u->ready()) ++ready;
  }
  if (ready > p.new_ready) p.last_progress = now;
  p.new_ready = ready;
  return {};
}

// Starts new replicas up to `wanted`; true once that many are ready.
bool AppController::EnsureNewReplicas(Progressive& p, int wanted) {
  int have = 0, ready = 0;
  for (auto& u : units_) {
    if (u->release() != p.release.number || u->retiring() || u->stopped()) continue;
    ++have;
    if (u->ready()) ++ready;
  }
  for (int i = have; i < wanted; ++i) {
    if (Status st = StartUnit(p.release.number, p.spec); !st) {
      AbortProgressive(p, st.error().message);
      return false;
    }
  }
  return ready >= wanted;
}

void AppController::Evaluate(Progressive& p, Clock::time_point now) {
  const auto window = p.spec.analysis.window;
  metrics::WindowCounts canary = WindowFor(p.release.number)->Sum(now, window);
  metrics::WindowCounts baseline;
  if (serving_release_) baseline = WindowFor(*serving_release_)->Sum(now, window);
  analysis::Evaluation e = analysis::Evaluate(p.spec.analysis, canary, baseline);
  state::AnalysisRecord record;
  record.app = app_;
  record.release = p.release.number;
  record.step = p.record.step;
  record.verdict = analysis::VerdictName(e.verdict);
  record.summary = e.summary;
  record.checks_json = ChecksJson(e).dump();
  if (auto st = env_.store->AppendAnalysis(record); !st) {
    kLog.Error("cannot record an analysis result", {{"app", app_}, {"error", st.error().message}});
  }
  const bool changed = !p.last || p.last->verdict != e.verdict;
  p.last = e;
  analysis::Decision decision = p.run.Add(e);
  if (changed || e.verdict == analysis::Verdict::kFail) {
    Event(p.release.number, "analysis." + std::string(analysis::VerdictName(e.verdict)), e.summary);
  }
  if (decision == analysis::Decision::kAbort) {
    AbortProgressive(p, fmt::format("analysis failed {} time(s) in a row: {}",
                                    p.run.consecutive_failures(), e.summary));
    return;
  }
  // Inconclusive verdicts hold an analysis step (never pass it); past the limit an operator
  // has to look. Outside analysis steps they only wait.
  const bool in_analysis_step = !p.blue_green && p.record.phase == "steps" &&
                                p.record.step < p.steps() &&
                                p.spec.canary.steps[static_cast<std::size_t>(p.record.step)].kind ==
                                    spec::CanaryStep::Kind::kAnalysis;
  if (decision == analysis::Decision::kPause && in_analysis_step && !p.record.paused) {
    PauseProgressive(p, fmt::format("analysis inconclusive {} times in a row: {}",
                                    p.run.consecutive_inconclusive(), e.summary));
  }
}

void AppController::EnterStep(Progressive& p, int step) {
  p.record.step = step;
  p.record.step_elapsed_ms = 0;
  p.record.step_started_ms = WallMs();
  p.record.paused = false;
  p.record.pause_reason.clear();
  p.step_started = Clock::now();
  p.last_progress = p.step_started;
  p.last.reset();
  p.run = analysis::AnalysisRun(p.spec.analysis);
  if (!p.blue_green && step < p.steps()) {
    const spec::CanaryStep& s = p.spec.canary.steps[static_cast<std::size_t>(step)];
    if (s.kind == spec::CanaryStep::Kind::kPause && !s.pause) {
      p.record.paused = true;
      p.record.pause_reason = fmt::format(
          "step {}: pause until `slipway resume {}` or `slipway promote {}`", step + 1, app_, app_);
    }
  }
}

void AppController::AdvanceCanary(Progressive& p, Clock::time_point now) {
  if (p.record.phase == "starting") {
    p.record.phase = "steps";
    EnterStep(p, 0);
    if (!Save(p)) return;
  }
  // Steps that finish at once (weights) run back to back within one tick.
  for (int guard = 0; guard <= p.steps() + 1 && !p.over; ++guard) {
    if (p.record.paused) return;
    if (p.record.step >= p.steps()) {
      if (p.record.phase != "promoting") {
        p.record.phase = "promoting";
        if (!Save(p)) return;
        Event(p.release.number, "rollout.promoting",
              fmt::format("steps done; scaling release {} to {} replica(s), then all traffic",
                          p.release.number, p.spec.replicas));
      }
      if (!EnsureNewReplicas(p, p.spec.replicas)) return;
      FinishProgressive(p);
      return;
    }
    const spec::CanaryStep& s = p.spec.canary.steps[static_cast<std::size_t>(p.record.step)];
    switch (s.kind) {
      case spec::CanaryStep::Kind::kWeight: {
        if (!EnsureNewReplicas(p, CanaryReplicasFor(p.spec.replicas, s.weight))) return;
        const int previous = canary_weight_;
        p.record.weight = s.weight;
        EnterStep(p, p.record.step + 1);
        if (!Save(p)) return;  // stored first, then the proxy gets the weight
        canary_weight_ = s.weight;
        PublishPool();
        Event(p.release.number, "rollout.weight",
              fmt::format("release {} gets {}% of the traffic (was {}%)", p.release.number,
                          s.weight, previous));
        continue;
      }
      case spec::CanaryStep::Kind::kPause:
        if (!s.pause || StepElapsed(p, now) < *s.pause) return;
        EnterStep(p, p.record.step + 1);
        if (!Save(p)) return;
        continue;
      case spec::CanaryStep::Kind::kAnalysis:
        if (StepElapsed(p, now) < s.analysis || !p.last ||
            p.last->verdict != analysis::Verdict::kPass) {
          return;
        }
        Event(p.release.number, "rollout.step",
              fmt::format("analysis step {} passed: {}", p.record.step + 1, p.last->summary));
        EnterStep(p, p.record.step + 1);
        if (!Save(p)) return;
        continue;
    }
  }
}

void AppController::AdvanceBlueGreen(Progressive& p, Clock::time_point now) {
  if (p.record.phase == "starting") {
    if (!EnsureNewReplicas(p, p.spec.replicas)) return;
    p.record.phase = "preview";
    EnterStep(p, 0);
    const auto& auto_promote = p.spec.blue_green.auto_promote;
    if (!p.fast && !auto_promote) {
      p.record.paused = true;
      p.record.pause_reason = fmt::format(
          "the new set is ready{}; `slipway promote {}` switches "
          "the traffic",
          preview_listen_.empty() ? "" : " on the preview " + preview_listen_, app_);
    }
    if (!Save(p)) return;
    PublishPool();
    Event(p.release.number, "rollout.ready",
          fmt::format("all {} replica(s) of release {} are ready{}", p.spec.replicas,
                      p.release.number, p.record.paused ? "; waiting for `slipway promote`" : ""));
  }
  if (p.record.phase == "preview") {
    if (p.record.paused) return;
    Millis wait = p.fast ? Millis(0) : p.spec.blue_green.auto_promote.value_or(Millis(0));
    if (StepElapsed(p, now) < wait) return;
    SwitchToNew(p);
    return;
  }
  if (p.record.phase == "scale_down") {
    Millis delay = p.fast ? Millis(0) : p.spec.blue_green.scale_down_delay;
    if (!p.record.paused && StepElapsed(p, now) >= delay) FinishProgressive(p);
  }
}

void AppController::SwitchToNew(Progressive& p) {
  p.record.phase = "scale_down";
  p.record.weight = 100;
  EnterStep(p, 1);
  if (!Save(p)) return;
  canary_weight_ = 100;
  PublishPool();
  Event(p.release.number, "rollout.promoted",
        fmt::format("release {} takes all the traffic{}", p.release.number,
                    p.fast || !serving_release_
                        ? std::string()
                        : fmt::format("; release {} stays warm for {} (an abort until then "
                                      "switches back at once)",
                                      *serving_release_,
                                      FormatDuration(p.spec.blue_green.scale_down_delay))));
}

// --- endings ---------------------------------------------------------------------------------

void AppController::FinishProgressive(Progressive& p) {
  if (p.over) return;
  p.record.phase = "succeeded";
  p.record.weight = 100;
  if (!Save(p)) return;
  p.over = true;
  if (p.timer) p.timer->cancel();
  const std::int64_t number = p.release.number;
  // The outcome is stored before the switch is published and before its event.
  (void)env_.store->FinishRelease(app_, number, state::Outcome::kSucceeded, "");
  (void)env_.store->SetCurrentRelease(app_, number);
  serving_release_ = number;
  serving_spec_ = p.spec;
  canary_release_.reset();
  canary_weight_ = 0;
  for (auto& u : units_) {
    if (u->release() != number && !u->retiring()) Retire(u.get());
  }
  PublishPool();
  if (!preview_listen_.empty()) {
    env_.proxy->RemoveListener(app_ + "#preview");
    preview_listen_.clear();
  }
  deploying_release_.reset();
  auto took = std::chrono::duration_cast<Millis>(Clock::now() - p.started);
  Event(number, "deploy.succeeded",
        fmt::format("release {} is serving (took {})", number, FormatDuration(took)));
  auto done = std::move(p.done);
  progressive_.reset();
  if (done) done(Ok());
}

void AppController::AbortProgressive(Progressive& p, const std::string& reason) {
  if (p.over) return;
  p.record.phase = "aborted";
  p.record.weight = 0;
  p.record.pause_reason = reason;
  // Best effort: if the store is what failed, the abort still happens (and recovery aborts a
  // rollout it finds unfinished either way).
  (void)env_.store->SaveRollout(p.record);
  p.over = true;
  if (p.timer) p.timer->cancel();
  const std::int64_t number = p.release.number;
  canary_weight_ = 0;
  for (auto& u : units_) {
    if (u->release() == number && !u->retiring()) u->Retire(nullptr);
  }
  canary_release_.reset();
  PublishPool();  // no new request reaches the new release from here on
  if (!preview_listen_.empty()) {
    env_.proxy->RemoveListener(app_ + "#preview");
    preview_listen_.clear();
  }
  (void)env_.store->FinishRelease(app_, number, state::Outcome::kAborted, reason);
  deploying_release_.reset();
  Event(number, "rollout.aborted",
        serving_release_ ? fmt::format("release {} aborted: {}; release {} keeps serving", number,
                                       reason, *serving_release_)
                         : fmt::format("release {} aborted: {}", number, reason));
  auto done = std::move(p.done);
  progressive_.reset();
  if (done) done(Status(Error{reason}));
}

void AppController::PauseProgressive(Progressive& p, const std::string& reason) {
  if (p.record.paused) return;
  p.record.step_elapsed_ms = StepElapsed(p, Clock::now()).count();
  p.record.paused = true;
  p.record.pause_reason = reason;
  if (!Save(p)) return;
  Event(p.release.number, "rollout.paused", reason);
}

// --- operator control ------------------------------------------------------------------------

Status AppController::Promote(bool full, const std::string& who) {
  if (!progressive_) return Error{"no canary or blue-green rollout of " + app_ + " is running"};
  Progressive& p = *progressive_;
  if (p.blue_green) {
    if (p.record.phase == "starting") {
      return Error{fmt::format("the new set is not ready yet ({}/{} replicas ready)", p.new_ready,
                               p.spec.replicas)};
    }
    if (p.record.phase == "preview") {
      Event(p.release.number, "rollout.promote", "promoted by " + who);
      SwitchToNew(p);
      Tick(progressive_);
      return Ok();
    }
    if (!full) {
      return Error{
          fmt::format("release {} already takes all the traffic; `promote --full` ends "
                      "the scale-down delay now",
                      p.release.number)};
    }
    Event(p.release.number, "rollout.promote", "scale-down delay ended by " + who);
    FinishProgressive(p);
    return Ok();
  }
  if (p.record.phase == "starting") EnterStep(p, 0);
  p.record.phase = p.record.step >= p.steps() ? "promoting" : "steps";
  const int next = full ? p.steps() : std::min(p.record.step + 1, p.steps());
  Event(p.release.number, "rollout.promote",
        full ? "full promotion by " + who + ": remaining steps skipped"
             : fmt::format(
                   "step {} ({}) skipped by {}", p.record.step + 1,
                   p.record.step < p.steps()
                       ? StepText(p.spec.canary.steps[static_cast<std::size_t>(p.record.step)])
                       : std::string("promotion"),
                   who));
  EnterStep(p, next);
  if (!Save(p)) return Error{"state: cannot store the rollout's progress"};
  Tick(progressive_);
  return Ok();
}

Status AppController::Abort(const std::string& reason, const std::string& who) {
  if (!progressive_) return Error{"no canary or blue-green rollout of " + app_ + " is running"};
  AbortProgressive(*progressive_, reason.empty() ? "aborted by " + who : reason + " (" + who + ")");
  return Ok();
}

Status AppController::Pause(const std::string& who) {
  if (!progressive_) return Error{"no canary or blue-green rollout of " + app_ + " is running"};
  if (progressive_->record.paused) {
    return Error{"the rollout is already paused: " + progressive_->record.pause_reason};
  }
  PauseProgressive(*progressive_, "paused by " + who);
  return Ok();
}

Status AppController::ResumeRollout(const std::string& who) {
  if (!progressive_) return Error{"no canary or blue-green rollout of " + app_ + " is running"};
  Progressive& p = *progressive_;
  if (!p.record.paused) return Error{"the rollout is not paused"};
  const bool manual_step = !p.blue_green && p.record.phase == "steps" &&
                           p.record.step < p.steps() &&
                           p.spec.canary.steps[static_cast<std::size_t>(p.record.step)].kind ==
                               spec::CanaryStep::Kind::kPause &&
                           !p.spec.canary.steps[static_cast<std::size_t>(p.record.step)].pause;
  Event(p.release.number, "rollout.resumed", "resumed by " + who);
  if (manual_step ||
      (p.blue_green && p.record.phase == "preview" && !p.spec.blue_green.auto_promote)) {
    if (p.blue_green) {
      SwitchToNew(p);  // resuming a blue-green that waits for promotion promotes it
    } else {
      EnterStep(p, p.record.step + 1);
    }
  } else {
    p.record.paused = false;
    p.record.pause_reason.clear();
    p.step_started = Clock::now();
    p.record.step_started_ms = WallMs();
    p.last_progress = p.step_started;
    p.run = analysis::AnalysisRun(p.spec.analysis);
  }
  if (!Save(p)) return Error{"state: cannot store the rollout's progress"};
  Tick(progressive_);
  return Ok();
}

// --- status ----------------------------------------------------------------------------------

AppController::RolloutPosition AppController::PositionOf(const Progressive& p) const {
  RolloutPosition position{.release = p.release.number, .paused = p.record.paused};
  if (!p.blue_green) {
    position.step = std::min(p.record.step + 1, p.steps());
    position.steps = p.steps();
  }
  return position;
}

nlohmann::json AppController::ProgressiveJson(const Progressive& p) const {
  const auto now = Clock::now();
  nlohmann::json j;
  j["release"] = p.release.number;
  j["strategy"] = p.record.strategy;
  j["phase"] = p.record.phase;
  j["weight"] = canary_weight_;
  j["paused"] = p.record.paused;
  j["pause_reason"] = p.record.pause_reason;
  j["baseline"] = serving_release_ ? nlohmann::json(*serving_release_) : nlohmann::json();
  std::optional<Millis> left;
  if (p.blue_green) {
    j["steps"] = 0;
    if (p.record.phase == "preview" && p.spec.blue_green.auto_promote && !p.fast) {
      left = *p.spec.blue_green.auto_promote - StepElapsed(p, now);
    } else if (p.record.phase == "scale_down" && !p.fast) {
      left = p.spec.blue_green.scale_down_delay - StepElapsed(p, now);
    }
  } else {
    j["steps"] = p.steps();
    j["step"] = std::min(p.record.step + 1, p.steps());
    if (p.record.step < p.steps()) {
      const spec::CanaryStep& s = p.spec.canary.steps[static_cast<std::size_t>(p.record.step)];
      j["step_text"] = StepText(s);
      if (s.kind == spec::CanaryStep::Kind::kPause && s.pause) {
        left = *s.pause - StepElapsed(p, now);
      } else if (s.kind == spec::CanaryStep::Kind::kAnalysis) {
        left = s.analysis - StepElapsed(p, now);
      }
    }
  }
  if (left) j["time_left_ms"] = std::max<std::int64_t>(0, left->count());
  if (p.last) {
    j["analysis"] = {{"verdict", analysis::VerdictName(p.last->verdict)},
                     {"summary", p.last->summary},
                     {"consecutive_failures", p.run.consecutive_failures()},
                     {"consecutive_inconclusive", p.run.consecutive_inconclusive()},
                     {"checks", ChecksJson(*p.last)}};
  }
  // Per release, over the last 10 s: what an operator watching the rollout wants to see.
  nlohmann::json releases = nlohmann::json::array();
  auto add = [&](std::int64_t release, const char* role) {
    auto it = windows_.find(release);
    if (it == windows_.end()) return;
    metrics::WindowCounts c = it->second->Sum(now, std::chrono::seconds(10));
    releases.push_back({{"release", release},
                        {"role", role},
                        {"requests_per_second", static_cast<double>(c.requests) / 10.0},
                        {"error_rate", Number(c.ErrorRate())},
                        {"p95_ms", Number(c.LatencyQuantile(0.95) * 1000.0)}});
  };
  if (serving_release_) add(*serving_release_, "stable");
  add(p.release.number, p.blue_green ? "new" : "canary");
  j["releases"] = std::move(releases);
  return j;
}

}  // namespace slipway::rollout
