#include "rollout/app_controller.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/duration.h"
#include "common/log.h"
#include "rollout/free_port.h"
#include "rollout/release_image.h"
#include "rollout/rolling_plan.h"
#include "spec/delivery_reader.h"

namespace slipway::rollout {

constexpr log::Logger kLog{"rollout"};

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// The latency objective's threshold (zero without one: no request is counted slow).
std::chrono::microseconds LatencyObjectiveThreshold(const spec::AppSpec& spec) {
  if (!spec.slo.latency) return std::chrono::microseconds(0);
  return std::chrono::duration_cast<std::chrono::microseconds>(spec.slo.latency->threshold);
}

// Every proxy field of the spec, as the proxy takes it.
proxy::ListenerOptions ListenerOptionsFor(const std::string& app, const spec::ProxyConfig& spec,
                                          std::shared_ptr<proxy::BackendPool> pool) {
  const spec::SecurityHeaders& headers = spec.security_headers;
  const spec::OutlierDetection& outlier = spec.outlier_detection;
  return {.app = app,
          .listen = spec.listen,
          .pool = std::move(pool),
          .security_headers = {.enabled = headers.enabled,
                               .frame_options = headers.frame_options,
                               .referrer_policy = headers.referrer_policy,
                               .content_security_policy = headers.content_security_policy,
                               .override = headers.override},
          .hide_headers = spec.hide_headers,
          .access_log = spec.access_log,
          .balancing = spec.balancing == spec::Balancing::kRoundRobin
                           ? proxy::Balancing::kRoundRobin
                           : proxy::Balancing::kLeastRequests,
          .outlier = {.enabled = outlier.enabled,
                      .consecutive_failures = outlier.consecutive_failures,
                      .count_5xx = outlier.count_5xx,
                      .base_ejection = outlier.base_ejection,
                      .max_ejection = outlier.max_ejection,
                      .max_ejected_percent = outlier.max_ejected_percent},
          .tls = {.cert_file = spec.tls.cert,
                  .key_file = spec.tls.key,
                  .redirect_http_listen = spec.tls.redirect_http,
                  .hsts = spec.tls.hsts},
          .timeouts = {.header = spec.timeouts.header,
                       .idle = spec.timeouts.idle,
                       .upstream_connect = spec.timeouts.upstream_connect,
                       .upstream_response = spec.timeouts.upstream_response,
                       .total = spec.timeouts.total},
          .limits = {.max_request_body = spec.limits.max_request_body,
                     .max_header_bytes = spec.limits.max_header_bytes,
                     .max_uri_bytes = spec.limits.max_uri_bytes,
                     .max_connections = spec.limits.max_connections},
          .gzip = spec.gzip};
}

}  // namespace

// One run of the rolling algorithm towards `target` (release 0 with replicas 0 = stop all).
struct AppController::Rollout {
  std::int64_t target = 0;
  spec::AppSpec spec;
  Clock::time_point deadline;
  std::function<void(Status)> done;
  std::unique_ptr<asio::steady_timer> timer;
  bool scheduled = false;
};

AppController::AppController(AppEnv env, std::string app)
    : env_(std::move(env)),
      app_(std::move(app)),
      pool_(std::make_shared<proxy::BackendPool>()),
      local_counters_(std::make_shared<metrics::RequestCounters>(env_.proxy->worker_count())) {}

AppController::~AppController() {
  *alive_ = false;
  if (rollout_ && rollout_->timer) rollout_->timer->cancel();
  progressive_.reset();
  units_.clear();  // each unit SIGKILLs and reaps its process group
  if (!listen_.empty()) env_.proxy->RemoveListener(app_);
  if (!preview_listen_.empty()) env_.proxy->RemoveListener(app_ + "#preview");
}

const std::shared_ptr<metrics::ReleaseWindow>& AppController::WindowFor(std::int64_t release) {
  auto& window = windows_[release];
  if (!window) window = std::make_shared<metrics::ReleaseWindow>(env_.proxy->worker_count());
  // Windows of releases that no longer run are dropped (each holds minutes of counts).
  for (auto it = windows_.begin(); it != windows_.end();) {
    bool used = it->first == release || it->first == serving_release_ ||
                it->first == canary_release_ || it->first == deploying_release_;
    for (auto& u : units_) used = used || u->release() == it->first;
    it = used ? std::next(it) : windows_.erase(it);
  }
  return windows_[release];
}

const std::shared_ptr<metrics::RequestCounters>& AppController::CountersFor(std::int64_t release) {
  auto& counters = counters_[release];
  if (!counters) {
    counters = std::make_shared<metrics::RequestCounters>(env_.proxy->worker_count());
  }
  // Past the bound, the oldest release that nothing runs goes (its series leave /metrics).
  while (counters_.size() > kKeptReleaseCounters) {
    auto oldest = std::find_if(counters_.begin(), counters_.end(), [&](const auto& entry) {
      const std::int64_t r = entry.first;
      if (r == release || r == serving_release_ || r == canary_release_ ||
          r == deploying_release_) {
        return false;
      }
      return std::none_of(units_.begin(), units_.end(),
                          [r](const auto& u) { return u->release() == r; });
    });
    if (oldest == counters_.end()) break;
    const metrics::RequestTotals retired = oldest->second->Totals();
    retired_requests_ += retired.total_requests();
    retired_errors_ += retired.errors();
    retired_slow_ += retired.slow;
    counters_.erase(oldest);
  }
  return counters_[release];
}

std::shared_ptr<const metrics::ReleaseWindow> AppController::WindowOf(std::int64_t release) const {
  auto it = windows_.find(release);
  return it == windows_.end() ? nullptr : it->second;
}

void AppController::OnUnitStarted(ReplicaUnit& unit) { StoreReplica(unit); }

// The replica's identity and readiness, so a restarted daemon re-adopts it (as serving when it
// was ready: no 503 while its first probe runs).
void AppController::StoreReplica(ReplicaUnit& unit) {
  auto identity = unit.identity();
  if (!identity) return;
  state::ReplicaRecord r;
  r.app = app_;
  r.name = unit.name();
  r.release = unit.release();
  r.index = unit.index();
  r.port = unit.port();
  r.pid = identity->pid;
  r.start_time = identity->start_time;
  r.boot_id = identity->boot_id;
  r.token = identity->token;
  r.ready = unit.ready();
  stored_ready_[unit.name()] = r.ready;
  if (auto st = env_.store->SaveReplica(r); !st) {
    kLog.Error("cannot record a replica", {{"app", app_}, {"error", st.error().message}});
  }
}

void AppController::Event(std::int64_t release, const std::string& kind,
                          const std::string& message) {
  auto r = env_.store->AppendEvent(app_, release, kind, message);
  if (!r) kLog.Error("cannot record event", {{"app", app_}, {"error", r.error().message}});
  if (env_.on_event) env_.on_event(app_);
  kLog.Info(message, {{"app", app_}, {"release", release}, {"event", kind}});
}

void AppController::OnUnitEvent(ReplicaUnit& unit, const std::string& kind,
                                const std::string& message) {
  // During a deploy every replica event is part of that deploy's story (old replicas draining
  // included), so the CLI following the release shows it.
  Event(deploying_release_.value_or(unit.release()), kind, message);
}

void AppController::OnUnitChanged(ReplicaUnit& unit) {
  if (!unit.retiring() && !unit.stopped()) {
    auto stored = stored_ready_.find(unit.name());
    if (stored != stored_ready_.end() && stored->second != unit.ready()) StoreReplica(unit);
  }
  PublishPool();
  if (progressive_) WakeProgressive();
  if (rollout_ && !rollout_->scheduled) {
    // Re-evaluated from the loop, never from inside a unit's callback (it may get destroyed).
    rollout_->scheduled = true;
    asio::post(*env_.io, [this, alive = alive_, r = rollout_] {
      if (!*alive) return;
      r->scheduled = false;
      if (rollout_ == r) Drive(r);
    });
  } else if (!rollout_ && !progressive_) {
    asio::post(*env_.io, [this, alive = alive_] {
      if (*alive) Reap();
    });
  }
}

void AppController::PublishPool() {
  proxy::TrafficSplit split;
  proxy::BackendList preview;
  for (auto& u : units_) {
    if (!u->ready() || u->retiring()) continue;
    if (canary_release_ && u->release() == *canary_release_) {
      split.canary.push_back(u->backend());
      preview.push_back(u->backend());
    } else {
      split.stable.push_back(u->backend());
    }
  }
  if (canary_release_) {
    split.canary_release = *canary_release_;
    split.canary_weight = canary_weight_;
    split.header = canary_header_;
    split.sticky_cookie = sticky_cookie_;
  }
  auto current = pool_->Snapshot();
  if (current->stable != split.stable || current->canary != split.canary ||
      current->canary_weight != split.canary_weight ||
      current->canary_release != split.canary_release || current->header != split.header ||
      current->sticky_cookie != split.sticky_cookie) {
    pool_->PublishSplit(std::move(split));
  }
  if (preview_pool_ && preview_pool_->Snapshot()->stable != preview) {
    preview_pool_->Publish(std::move(preview));
  }
}

void AppController::Reap() {
  units_.remove_if([this](const std::unique_ptr<ReplicaUnit>& u) {
    if (!u->stopped()) return false;
    // A replica of the release being deployed that can never run stays until the rollout has
    // seen why (a container's start fails after Start() returned, unlike a spawn's).
    if (!u->fatal_error().empty() && deploying_release_ && u->release() == *deploying_release_) {
      return false;
    }
    (void)env_.store->DeleteReplica(app_, u->name());
    stored_ready_.erase(u->name());
    return true;
  });
  if (!units_.empty() || stop_waiters_.empty()) return;
  auto waiters = std::move(stop_waiters_);
  for (auto& w : waiters) w();
}

std::unique_ptr<ReplicaUnit> AppController::MakeUnit(std::int64_t release, int index,
                                                     std::uint16_t port,
                                                     const spec::AppSpec& spec) {
  UnitConfig config;
  config.app = app_;
  config.release = release;
  config.index = index;
  config.spec = spec;
  config.port = port;
  config.log_dir = env_.log_dir + "/" + app_;
  if (!spec.flags.empty() && !env_.flags_dir.empty()) {
    config.flags_file = FlagsFilePath();
    for (const auto& [name, value] : spec.flags) config.flags[name] = value.ToString();
    auto stored = env_.store->ListFlags(app_);
    if (stored) {
      for (const state::FlagRecord& f : *stored) {
        if (config.flags.count(f.name)) config.flags[f.name] = f.value;
      }
    }
  }
  config.window = WindowFor(release);
  config.counters = CountersFor(release);
  // A request is slow against the latency objective of the release that answered it.
  config.counters->SetSlowThreshold(LatencyObjectiveThreshold(spec));
  config.docker = env_.docker;
  config.census = env_.census;
  config.docker_owner = env_.docker_owner;
  return std::make_unique<ReplicaUnit>(*env_.io, std::move(config),
                                       static_cast<UnitListener*>(this));
}

Status AppController::StartUnit(std::int64_t release, const spec::AppSpec& spec) {
  int index = 0;
  for (auto& u : units_) {
    if (u->release() == release) index = std::max(index, u->index() + 1);
  }
  auto port = PickFreePort();
  if (!port) return port.error();
  const std::string log_dir = env_.log_dir + "/" + app_;
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec)
    return Error{fmt::format("cannot create the log directory {}: {}", log_dir, ec.message())};
  auto unit = MakeUnit(release, index, *port, spec);
  ReplicaUnit* raw = unit.get();
  units_.push_back(std::move(unit));
  Status st = raw->Start();
  if (!st) {
    Event(release, "replica.failed",
          fmt::format("{} cannot start: {}", raw->name(), st.error().message));
  }
  return st;
}

void AppController::Retire(ReplicaUnit* unit) {
  Event(deploying_release_.value_or(unit->release()), "replica.draining",
        fmt::format("{} leaves the pool and drains ({} in flight)", unit->name(),
                    unit->backend()->inflight.load()));
  unit->Retire(nullptr);
}

std::optional<Status> AppController::Step(Rollout& r) {
  auto now = Clock::now();
  std::vector<ReplicaUnit*> fresh, old_ready, old_unready;
  bool draining = false;
  for (auto& u : units_) {
    if (u->retiring()) {
      if (!u->stopped()) draining = true;
      continue;
    }
    if (u->stopped() && u->release() != r.target) continue;  // dead leftovers are reaped
    if (u->release() == r.target) {
      fresh.push_back(u.get());
    } else if (u->ready()) {
      old_ready.push_back(u.get());
    } else {
      old_unready.push_back(u.get());
    }
  }
  for (ReplicaUnit* u : fresh) {
    if (!u->fatal_error().empty()) return Status(Error{u->fatal_error()});
    if (!u->ever_ready() && now >= u->startup_deadline()) {
      return Status(Error{fmt::format(
          "replica {} did not become ready within its start-up budget of {}: {}", u->name(),
          FormatDuration(r.spec.readiness.startup_timeout), u->not_ready_reason())});
    }
  }
  const int target = r.spec.replicas;
  const int ready_fresh = static_cast<int>(
      std::count_if(fresh.begin(), fresh.end(), [](auto* u) { return u->ready(); }));
  // Old replicas that serve nothing cost no availability: retire them first.
  for (ReplicaUnit* u : old_unready) Retire(u);
  if (!old_unready.empty()) draining = true;
  RollingStep plan = PlanRollingStep(
      {target, r.spec.rolling.max_surge, r.spec.rolling.max_unavailable,
       static_cast<int>(fresh.size()), ready_fresh, static_cast<int>(old_ready.size())});
  for (int i = 0; i < plan.retire_old; ++i) Retire(old_ready[static_cast<size_t>(i)]);
  if (plan.retire_old > 0) draining = true;
  old_ready.erase(old_ready.begin(), old_ready.begin() + plan.retire_old);
  for (int i = 0; i < plan.start_new; ++i) {
    Status st = StartUnit(r.target, r.spec);
    if (!st) return st;
  }
  if (ready_fresh >= target && old_ready.empty() && !draining) return Ok();
  if (now >= r.deadline) {
    std::string why;
    for (ReplicaUnit* u : fresh) {
      if (!u->ready()) {
        why = fmt::format("; {}: {}", u->name(), u->not_ready_reason());
        break;
      }
    }
    return Status(Error{fmt::format(
        "release {} did not become ready within the ready deadline of "
        "{}: {}/{} replicas ready{}",
        r.target, FormatDuration(r.spec.rolling.ready_deadline), ready_fresh, target, why)});
  }
  return std::nullopt;
}

void AppController::Drive(std::shared_ptr<Rollout> r) {
  Reap();
  std::optional<Status> result = Step(*r);
  PublishPool();
  if (result) {
    if (r->timer) r->timer->cancel();
    rollout_.reset();
    auto done = std::move(r->done);
    done(std::move(*result));
    return;
  }
  // Wake up at the next deadline even if no unit reports a change.
  auto wake = r->deadline;
  for (auto& u : units_) {
    if (u->release() == r->target && !u->ever_ready() && !u->retiring()) {
      wake = std::min(wake, u->startup_deadline());
    }
  }
  wake = std::min(wake, Clock::now() + std::chrono::seconds(1));
  if (!r->timer) r->timer = std::make_unique<asio::steady_timer>(*env_.io);
  r->timer->expires_at(wake);
  r->timer->async_wait([this, alive = alive_, r](boost::system::error_code ec) {
    if (ec || !*alive || rollout_ != r) return;
    Drive(r);
  });
}

void AppController::Deploy(state::Release release, spec::AppSpec spec,
                           std::function<void(Status)> done) {
  if (!spec.image.empty()) {
    PinImageThenRoll(std::move(release), std::move(spec), std::move(done));
    return;
  }
  Roll(std::move(release), std::move(spec), /*resume=*/false, std::move(done));
}

void AppController::PinImageThenRoll(state::Release release, spec::AppSpec spec,
                                     std::function<void(Status)> done) {
  const std::int64_t number = release.number;
  deploying_release_ = number;  // a second deploy is refused while the image resolves
  auto fail = [this, number](const std::string& why, std::function<void(Status)>& finished) {
    deploying_release_.reset();
    (void)env_.store->FinishRelease(app_, number, state::Outcome::kFailed, why);
    Event(number, "deploy.failed", fmt::format("release {} failed: {}", number, why));
    finished(Status(Error{why}));
  };
  if (env_.docker == nullptr) {
    fail("this daemon has no Docker engine (start it with --docker-host unix:///path/docker.sock)",
         done);
    return;
  }
  Event(number, "image.resolving",
        release.image_id.empty()
            ? fmt::format("release {}: resolving image {}", number, spec.image)
            : fmt::format("release {}: runs the image release {} pinned: {}", number,
                          release.rollback_of.value_or(0), release.image_id));
  auto on_progress = [this, number, alive = alive_](const std::string& line) {
    if (!*alive) return;
    // The engine folds a pull into "pulling REF: 2/3 layers, 4.1 MB" lines, at most one a
    // second while bytes move.
    Event(number, "image.pull", line);
  };
  const std::string pinned = release.image_id;
  ResolveReleaseImage(
      *env_.docker, spec, pinned, on_progress,
      [this, alive = alive_, release, spec, fail,
       done = std::move(done)](Result<std::string> id) mutable {
        if (!*alive) return;
        if (!id) return fail(id.error().message, done);
        if (release.image_id.empty()) {
          if (Status st = env_.store->SetReleaseImage(app_, release.number, *id); !st) {
            return fail(st.error().message, done);
          }
          release.image_id = *id;
          Event(release.number, "image.pinned",
                spec.image == *id ? fmt::format("release {} runs image {}", release.number, *id)
                                  : fmt::format("release {} runs image {} ({})", release.number,
                                                *id, spec.image));
        }
        spec.image_id = *id;
        deploying_release_.reset();
        Roll(std::move(release), std::move(spec), /*resume=*/false, std::move(done));
      });
}

void AppController::Resume(state::Release release, spec::AppSpec spec,
                           std::function<void(Status)> done) {
  Roll(std::move(release), std::move(spec), /*resume=*/true, std::move(done));
}

void AppController::Roll(state::Release release, spec::AppSpec spec, bool resume,
                         std::function<void(Status)> done) {
  const std::int64_t number = release.number;
  deploying_release_ = number;
  auto t0 = Clock::now();
  // Canary and blue-green need a serving release to compare with and fall back to; a first
  // deploy (or one after a stop) rolls. A rollback goes the fast way: the whole set, then all
  // traffic at once.
  const bool progressive = !resume && serving_release_ && serving_spec_ &&
                           (spec.strategy != spec::Strategy::kRolling || release.rollback_of);
  if (progressive) {
    Event(number, "deploy.started",
          fmt::format("release {}: {} replica(s) of {}, {}", number, spec.replicas,
                      spec.image.empty() ? spec.command : "image " + spec.image,
                      release.rollback_of ? "rollback" : spec::StrategyName(spec.strategy)));
  } else {
    Event(number, resume ? "resume.started" : "deploy.started",
          fmt::format("{}release {}: {} replica(s) of {}, rolling (max surge {}, max unavailable "
                      "{}, ready deadline {})",
                      resume ? "daemon restarted; bringing back " : "", number, spec.replicas,
                      spec.image.empty() ? spec.command : "image " + spec.image,
                      spec.rolling.max_surge, spec.rolling.max_unavailable,
                      FormatDuration(spec.rolling.ready_deadline)));
  }
  auto shared_done = std::make_shared<std::function<void(Status)>>(std::move(done));

  auto finish = [this, number, t0, resume, done = shared_done](Status st) {
    deploying_release_.reset();
    auto took = std::chrono::duration_cast<Millis>(Clock::now() - t0);
    // The outcome is stored before its event, so whoever wakes on the event reads it final.
    if (st) {
      if (!resume) (void)env_.store->FinishRelease(app_, number, state::Outcome::kSucceeded, "");
      Event(number, resume ? "resume.succeeded" : "deploy.succeeded",
            fmt::format("release {} is serving (took {})", number, FormatDuration(took)));
    } else {
      if (!resume) {
        (void)env_.store->FinishRelease(app_, number, state::Outcome::kFailed, st.error().message);
      }
      Event(number, resume ? "resume.failed" : "deploy.finished",
            serving_release_ ? fmt::format("release {} marked failed; release {} serves", number,
                                           *serving_release_)
                             : fmt::format("release {} marked failed; nothing serves", number));
    }
    (*done)(std::move(st));
  };

  Status listening = EnsureListener(spec);
  if (!listening) {
    Event(number, "deploy.failed", "proxy: " + listening.error().message);
    finish(Status(Error{"proxy: " + listening.error().message}));
    return;
  }
  if (Status flags = WriteFlagsFile(spec); !flags) {
    Event(number, "deploy.failed", flags.error().message);
    finish(flags);
    return;
  }
  if (progressive) {
    if (spec.strategy == spec::Strategy::kBlueGreen && !release.rollback_of &&
        !spec.blue_green.preview_listen.empty()) {
      preview_pool_ = std::make_shared<proxy::BackendPool>();
      auto options = ListenerOptionsFor(app_ + "#preview", spec.proxy, preview_pool_);
      options.listen = spec.blue_green.preview_listen;
      options.local_counters = local_counters_;
      options.tls.redirect_http_listen.clear();
      if (Status st = env_.proxy->AddListener(options); !st) {
        preview_pool_.reset();
        Event(number, "deploy.failed", "proxy: preview: " + st.error().message);
        finish(Status(Error{"proxy: preview: " + st.error().message}));
        return;
      }
      preview_listen_ = spec.blue_green.preview_listen;
    }
    StartProgressive(std::move(release), std::move(spec),
                     [this, number, done = shared_done](Status st) {
                       if (!preview_listen_.empty()) {
                         env_.proxy->RemoveListener(app_ + "#preview");
                         preview_listen_.clear();
                       }
                       preview_pool_.reset();
                       (void)number;
                       (*done)(std::move(st));
                     });
    return;
  }

  auto r = std::make_shared<Rollout>();
  r->target = number;
  r->spec = spec;
  r->deadline = Clock::now() + spec.rolling.ready_deadline;
  r->done = [this, number, spec, finish](Status st) mutable {
    if (st) {
      serving_release_ = number;
      serving_spec_ = spec;
      (void)env_.store->SetCurrentRelease(app_, number);
      finish(Ok());
      return;
    }
    std::string reason = st.error().message;
    Event(number, "deploy.failed", fmt::format("release {} failed: {}", number, reason));
    // Bring back what served before (or clear the failed replicas when nothing did).
    auto restore = std::make_shared<Rollout>();
    if (serving_release_ && serving_spec_) {
      restore->target = *serving_release_;
      restore->spec = *serving_spec_;
      Event(number, "deploy.restoring",
            fmt::format("release {} keeps serving; stopping the replicas of release {}",
                        *serving_release_, number));
    } else {
      restore->target = 0;
      restore->spec = spec;
      restore->spec.replicas = 0;
    }
    restore->deadline = Clock::now() + restore->spec.rolling.ready_deadline;
    restore->done = [this, number, reason, finish](Status restored) mutable {
      if (!restored) {
        Event(number, "deploy.restore_failed",
              "could not restore the previous release: " + restored.error().message);
      }
      finish(Status(Error{reason}));
    };
    rollout_ = restore;
    Drive(restore);
  };
  rollout_ = r;
  Drive(r);
}

Status AppController::EnsureListener(const spec::AppSpec& spec) {
  PublishPool();  // adopted replicas that served are in the pool before the listener opens
  if (spec.proxy.listen.empty()) {
    // `proxy.listen: none`: a worker; nothing to route to it.
    if (!listen_.empty()) env_.proxy->RemoveListener(app_);
    listen_.clear();
    return {};
  }
  proxy::ListenerOptions options = ListenerOptionsFor(app_, spec.proxy, pool_);
  options.local_counters = local_counters_;
  local_counters_->SetSlowThreshold(LatencyObjectiveThreshold(spec));
  Status listening = env_.proxy->AddListener(options);
  if (listening) listen_ = spec.proxy.listen;
  return listening;
}

Status AppController::AdoptReplica(const state::ReplicaRecord& record, const spec::AppSpec& spec) {
  runtime::ProcessIdentity identity;
  identity.pid = record.pid;
  identity.start_time = record.start_time;
  identity.boot_id = record.boot_id;
  identity.token = record.token;
  auto unit = MakeUnit(record.release, record.index, static_cast<std::uint16_t>(record.port), spec);
  ReplicaUnit* raw = unit.get();
  units_.push_back(std::move(unit));
  Status st = raw->Adopt(identity, record.ready);
  if (!st) {
    units_.pop_back();
    (void)env_.store->DeleteReplica(app_, record.name);
    return st;
  }
  Event(record.release, "replica.adopted",
        fmt::format("{} (pid {}, port {}) still runs; adopted", raw->name(), record.pid,
                    record.port));
  return Ok();
}

std::string AppController::FlagsFilePath() const {
  return env_.flags_dir + "/" + app_ + "/flags.json";
}

// The flags file: {"name": true | false | percent}, written whole to a temporary file and
// renamed over the old one, so a replica reading it never sees half of it. It lives in a
// directory of its own per app (<flags_dir>/<app>/flags.json), which containers get mounted
// read-only: a mount of the file itself would keep showing the inode the rename replaced.
// <flags_dir>/<app>.json, where daemons before that kept it (and what replicas they started
// still have in $SLIPWAY_FLAGS_FILE when adopted), is a symlink to it.
Status AppController::WriteFlagsFile(const spec::AppSpec& spec) {
  if (spec.flags.empty() || env_.flags_dir.empty()) return Ok();
  const std::string dir = env_.flags_dir + "/" + app_;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{"flags: cannot create " + dir + ": " + ec.message()};
  std::map<std::string, std::string> values;
  for (const auto& [name, value] : spec.flags) values[name] = value.ToString();
  if (auto stored = env_.store->ListFlags(app_)) {
    for (const state::FlagRecord& f : *stored) {
      if (values.count(f.name)) values[f.name] = f.value;
    }
  }
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, text] : values) {
    auto parsed = spec::ParseFlagValue(text);
    if (!parsed) continue;
    if (parsed->percent_based) {
      j[name] = parsed->percent;
    } else {
      j[name] = parsed->on;
    }
  }
  const std::string path = FlagsFilePath();
  const std::string tmp = path + ".tmp";
  const std::string text = j.dump() + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error{"flags: cannot write " + tmp + ": " + std::strerror(errno)};
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Error{"flags: cannot write " + path + ": " + std::strerror(errno)};
  }
  const std::string legacy = env_.flags_dir + "/" + app_ + ".json";
  if (!std::filesystem::is_symlink(legacy, ec)) {
    const std::string link_tmp = legacy + ".tmp";
    ::unlink(link_tmp.c_str());
    const std::string target = app_ + "/flags.json";
    if (::symlink(target.c_str(), link_tmp.c_str()) != 0 ||
        ::rename(link_tmp.c_str(), legacy.c_str()) != 0) {
      return Error{"flags: cannot link " + legacy + ": " + std::strerror(errno)};
    }
  }
  return Ok();
}

void AppController::Stop(std::function<void()> done) {
  if (progressive_) DetachProgressive();
  auto r = std::make_shared<Rollout>();
  r->target = 0;
  r->spec = serving_spec_.value_or(spec::AppSpec{});
  r->spec.replicas = 0;
  r->deadline = Clock::now() + std::chrono::hours(1);
  r->done = [this, done = std::move(done)](Status) {
    if (!listen_.empty()) env_.proxy->RemoveListener(app_);
    listen_.clear();
    Reap();
    if (done) done();
  };
  rollout_ = r;
  Drive(r);
}

std::vector<std::string> AppController::ReplicaLogs() const {
  std::vector<std::string> logs;
  for (auto& u : units_) {
    if (!serving_release_ || u->release() == *serving_release_) logs.push_back(u->log_path());
  }
  return logs;
}

TrafficReading AppController::ReadTraffic() const {
  TrafficReading reading;
  reading.requests = retired_requests_;
  reading.errors = retired_errors_;
  reading.slow = retired_slow_;
  auto add = [&reading](const metrics::RequestCounters& counters) {
    const metrics::RequestTotals t = counters.Totals();
    reading.requests += t.total_requests();
    reading.errors += t.errors();
    reading.slow += t.slow;
  };
  for (const auto& [release, counters] : counters_) add(*counters);
  add(*local_counters_);
  reading.has_served = serving_release_.has_value();
  for (const auto& u : units_) reading.ready = reading.ready || (u->ready() && !u->retiring());
  if (serving_spec_) reading.slo = serving_spec_->slo;
  return reading;
}

nlohmann::json AppController::ToJson() const {
  nlohmann::json j;
  j["app"] = app_;
  j["serving_release"] = serving_release_ ? nlohmann::json(*serving_release_) : nlohmann::json();
  j["deploying_release"] =
      deploying_release_ ? nlohmann::json(*deploying_release_) : nlohmann::json();
  j["listen"] = env_.proxy->BoundAddress(app_);
  int ready = 0;
  nlohmann::json replicas = nlohmann::json::array();
  for (auto& u : units_) {
    replicas.push_back(u->ToJson());
    if (u->ready() && !u->retiring()) ++ready;
  }
  j["ready_replicas"] = ready;
  j["desired_replicas"] = serving_spec_ ? serving_spec_->replicas : 0;
  j["replicas"] = std::move(replicas);
  j["strategy"] = serving_spec_ ? spec::StrategyName(serving_spec_->strategy) : "rolling";
  if (progressive_) j["rollout"] = ProgressiveJson(*progressive_);
  return j;
}

}  // namespace slipway::rollout
