#include "rollout/fleet.h"

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "common/log.h"
#include "rollout/deploy_history_metrics.h"
#include "spec/spec_parser.h"

namespace slipway::rollout {

constexpr log::Logger kLog{"rollout"};

Fleet::Fleet(AppEnv env) : env_(std::move(env)) {
  env_.on_event = [this](const std::string& app) { NotifyEvent(app); };
}

void Fleet::OnNextEvent(const std::string& app, std::function<void()> wake) {
  event_waiters_[app].push_back(std::move(wake));
}

void Fleet::NotifyEvent(const std::string& app) {
  auto it = event_waiters_.find(app);
  if (it == event_waiters_.end()) return;
  // Posted: the event's caller finishes its state change before any waiter reads the state.
  for (auto& wake : it->second) boost::asio::post(*env_.io, std::move(wake));
  event_waiters_.erase(it);
}

void Fleet::RecordEvent(const std::string& app, const std::string& kind,
                        const std::string& message) {
  (void)env_.store->AppendEvent(app, 0, kind, message);
  NotifyEvent(app);
}
Fleet::~Fleet() = default;

AppController& Fleet::Controller(const std::string& app) {
  auto& slot = apps_[app];
  if (!slot) slot = std::make_unique<AppController>(env_, app);
  return *slot;
}

bool Fleet::Known(const std::string& app) const {
  if (apps_.count(app)) return true;
  auto rec = env_.store->GetApp(app);
  return rec && rec->has_value();
}

std::optional<spec::AppSpec> Fleet::CurrentSpec(const std::string& app) const {
  auto rec = env_.store->GetApp(app);
  if (!rec || !rec->has_value() || !(*rec)->current_release) return std::nullopt;
  auto rel = env_.store->GetRelease(app, *(*rec)->current_release);
  if (!rel || !rel->has_value()) return std::nullopt;
  return spec::ParseAppSpec((*rel)->spec_yaml, (*rel)->spec_file, (*rel)->base_dir).spec;
}

void Fleet::Recover() {
  // Canary and blue-green rollouts continue where they were; any other unfinished deploy is
  // failed and its app brought back to its current release.
  std::map<std::string, state::RolloutRecord> resumable;
  if (auto rollouts = env_.store->UnfinishedRollouts()) {
    for (const state::RolloutRecord& r : *rollouts) {
      if (r.strategy != "rolling") resumable[r.app] = r;
    }
  }
  auto apps = env_.store->ListApps();
  if (!apps) {
    kLog.Error("cannot list apps", {{"error", apps.error().message}});
    return;
  }
  for (const state::AppRecord& app : *apps) {
    auto releases = env_.store->ListReleases(app.name);
    if (!releases) continue;
    for (const state::Release& r : *releases) {
      if (r.outcome != state::Outcome::kDeploying) continue;
      auto it = resumable.find(app.name);
      if (it != resumable.end() && it->second.release == r.number &&
          app.desired == state::DesiredState::kRunning) {
        continue;
      }
      (void)env_.store->FinishRelease(app.name, r.number, state::Outcome::kFailed,
                                      "the daemon stopped during this deploy");
      kLog.Warn("marked an interrupted deploy as failed",
                {{"app", app.name}, {"release", r.number}});
    }
  }
  std::map<std::string, std::vector<state::ReplicaRecord>> replicas;
  if (auto all = env_.store->ListReplicas()) {
    for (state::ReplicaRecord& r : *all) replicas[r.app].push_back(std::move(r));
  }
  for (const state::AppRecord& app : *apps) {
    const std::string name = app.name;
    auto load =
        [&](std::int64_t number) -> std::optional<std::pair<state::Release, spec::AppSpec>> {
      auto rel = env_.store->GetRelease(name, number);
      if (!rel || !rel->has_value()) return std::nullopt;
      auto parsed = spec::ParseAppSpec((*rel)->spec_yaml, (*rel)->spec_file, (*rel)->base_dir);
      if (!parsed.spec) {
        kLog.Error("stored spec no longer parses", {{"app", name}, {"release", number}});
        return std::nullopt;
      }
      parsed.spec->image_id = (*rel)->image_id;  // docker: what its containers run
      return std::make_pair(**rel, *parsed.spec);
    };
    // Every replica a previous daemon left running is adopted by its release's spec; those of
    // releases that should not run any more are then drained and stopped by the rollout.
    std::map<std::int64_t, spec::AppSpec> specs;
    for (const state::ReplicaRecord& r : replicas[name]) {
      if (specs.count(r.release)) continue;
      if (auto loaded = load(r.release)) specs[r.release] = loaded->second;
    }
    AdoptReplicas(name, replicas[name], specs);
    if (app.desired != state::DesiredState::kRunning) {
      if (apps_.count(name)) Controller(name).Stop(nullptr);
      continue;
    }
    std::optional<std::pair<state::Release, spec::AppSpec>> serving;
    if (app.current_release) serving = load(*app.current_release);
    auto rollout = resumable.find(name);
    if (rollout != resumable.end()) {
      auto target = load(rollout->second.release);
      if (target) {
        Controller(name).ResumeProgressive(
            target->first, target->second, rollout->second,
            serving ? std::optional<state::Release>(serving->first) : std::nullopt,
            serving ? std::optional<spec::AppSpec>(serving->second) : std::nullopt,
            [name](slipway::Status st) {
              if (!st)
                kLog.Warn("resumed rollout ended", {{"app", name}, {"error", st.error().message}});
            });
        continue;
      }
      (void)env_.store->FinishRelease(name, rollout->second.release, state::Outcome::kAborted,
                                      "its spec no longer parses after a daemon restart");
    }
    if (!serving) continue;
    Controller(name).Resume(serving->first, serving->second, [name](slipway::Status st) {
      if (!st)
        kLog.Error("could not bring app back", {{"app", name}, {"error", st.error().message}});
    });
  }
}

void Fleet::AdoptReplicas(const std::string& app, const std::vector<state::ReplicaRecord>& records,
                          const std::map<std::int64_t, spec::AppSpec>& specs) {
  for (const state::ReplicaRecord& r : records) {
    auto spec = specs.find(r.release);
    if (spec == specs.end()) {
      (void)env_.store->DeleteReplica(app, r.name);
      continue;
    }
    Status st = Controller(app).AdoptReplica(r, spec->second);
    if (!st) {
      kLog.Info("a recorded replica is not adopted",
                {{"app", app}, {"replica", r.name}, {"why", st.error().message}});
    }
  }
}

Outcome<state::Release> Fleet::StartRelease(const state::NewRelease& request,
                                            std::function<void(slipway::Status)> done) {
  auto parsed = spec::ParseAppSpec(request.spec_yaml, request.spec_file, request.base_dir);
  if (!parsed.spec) {
    return {std::nullopt, Refusal{400, "the spec has errors", parsed.diagnostics}};
  }
  const std::string app = parsed.spec->app;
  if (!request.app.empty() && request.app != app) {
    return {std::nullopt,
            Refusal{400, fmt::format("spec is for app \"{}\", not \"{}\"", app, request.app)}};
  }
  AppController& controller = Controller(app);
  if (controller.deploying()) {
    return {std::nullopt,
            Refusal{409, fmt::format("a deploy of {} is in progress (release {}); wait for it", app,
                                     *controller.deploying_release())}};
  }
  state::NewRelease stored = request;
  stored.app = app;
  auto release = env_.store->CreateRelease(stored);
  if (!release) return {std::nullopt, Refusal{500, "state: " + release.error().message}};
  if (auto st = env_.store->SetDesiredState(app, state::DesiredState::kRunning); !st) {
    return {std::nullopt, Refusal{500, "state: " + st.error().message}};
  }
  controller.Deploy(*release, *parsed.spec, [done = std::move(done)](slipway::Status st) {
    if (done) done(std::move(st));
  });
  return {*release, std::nullopt};
}

Outcome<state::Release> Fleet::Deploy(const DeployRequest& request,
                                      std::function<void(slipway::Status)> done) {
  state::NewRelease release;
  release.spec_yaml = request.spec_yaml;
  release.spec_file = request.spec_file;
  release.base_dir = request.base_dir;
  release.created_by = request.who;
  return StartRelease(release, std::move(done));
}

Outcome<state::Release> Fleet::Rollback(const std::string& app, std::optional<std::int64_t> to,
                                        const std::string& who) {
  // During a canary or blue-green rollout the previous release is still there, warm: a
  // rollback is an abort, which gives it all the traffic back at once.
  auto running = apps_.find(app);
  if (!to && running != apps_.end() && running->second->progressive()) {
    AppController& controller = *running->second;
    auto serving = controller.serving_release();
    if (Status st = controller.Abort("rolled back", who); !st) {
      return {std::nullopt, Refusal{409, st.error().message}};
    }
    if (serving) {
      auto rel = env_.store->GetRelease(app, *serving);
      if (rel && rel->has_value()) return {**rel, std::nullopt};
    }
    return {std::nullopt, Refusal{409, "the rollout was aborted; no earlier release serves"}};
  }
  auto releases = env_.store->ListReleases(app);
  if (!releases) return {std::nullopt, Refusal{500, "state: " + releases.error().message}};
  if (releases->empty()) return {std::nullopt, Refusal{404, "no app named " + app}};
  auto rec = env_.store->GetApp(app);
  std::optional<std::int64_t> serving;
  if (rec && rec->has_value()) serving = (*rec)->current_release;
  const state::Release* target = nullptr;
  if (to) {
    for (const auto& r : *releases) {
      if (r.number == *to) target = &r;
    }
    if (!target) {
      return {std::nullopt, Refusal{404, fmt::format("{} has no release {} (releases 1..{})", app,
                                                     *to, releases->back().number)}};
    }
    if (target->outcome != state::Outcome::kSucceeded) {
      return {std::nullopt,
              Refusal{409, fmt::format("release {} of {} {}; roll back to a release that served",
                                       *to, app, state::OutcomeName(target->outcome))}};
    }
  } else {
    // The newest release that served before the serving one (not one that only failed).
    for (auto it = releases->rbegin(); it != releases->rend(); ++it) {
      if (serving && it->number >= *serving) continue;
      if (it->outcome == state::Outcome::kSucceeded) {
        target = &*it;
        break;
      }
    }
    if (!target) {
      return {std::nullopt,
              Refusal{409, fmt::format("{} has no earlier release that served; nothing to roll "
                                       "back to",
                                       app)}};
    }
  }
  state::NewRelease release;
  release.app = app;
  release.spec_yaml = target->spec_yaml;
  release.spec_file = target->spec_file;
  release.base_dir = target->base_dir;
  release.created_by = who;
  release.rollback_of = target->number;
  release.image_id = target->image_id;  // docker: exactly the image that release ran
  return StartRelease(release, nullptr);
}

std::optional<Refusal> Fleet::Stop(const std::string& app, const std::string& who,
                                   std::function<void()> done) {
  if (!Known(app)) return Refusal{404, "no app named " + app};
  AppController& controller = Controller(app);
  if (controller.deploying()) {
    return Refusal{409, fmt::format("a deploy of {} is in progress (release {}); wait for it", app,
                                    *controller.deploying_release())};
  }
  if (auto st = env_.store->SetDesiredState(app, state::DesiredState::kStopped); !st) {
    return Refusal{500, "state: " + st.error().message};
  }
  RecordEvent(app, "app.stopping", "stop requested by " + who);
  controller.Stop([this, app, done = std::move(done)] {
    RecordEvent(app, "app.stopped", app + " stopped: no replica runs");
    if (done) done();
  });
  return std::nullopt;
}

void Fleet::StopAll(std::function<void()> done) {
  auto remaining = std::make_shared<int>(static_cast<int>(apps_.size()) + 1);
  auto one_done = [remaining, done = std::move(done)] {
    if (--*remaining == 0 && done) done();
  };
  for (auto& [name, controller] : apps_) controller->Stop(one_done);
  one_done();
}

nlohmann::json Fleet::AppsJson(const std::optional<std::string>& app) const {
  nlohmann::json out = nlohmann::json::array();
  auto apps = env_.store->ListApps();
  if (!apps) return out;
  for (const state::AppRecord& rec : *apps) {
    if (app && rec.name != *app) continue;
    nlohmann::json j;
    auto it = apps_.find(rec.name);
    if (it != apps_.end()) {
      j = it->second->ToJson();
    } else {
      j = {{"app", rec.name},
           {"replicas", nlohmann::json::array()},
           {"ready_replicas", 0},
           {"listen", ""}};
    }
    const bool running = rec.desired == state::DesiredState::kRunning;
    j["desired_state"] = running ? "running" : "stopped";
    if (!running) j["desired_replicas"] = 0;
    j["current_release"] =
        rec.current_release ? nlohmann::json(*rec.current_release) : nlohmann::json();
    out.push_back(std::move(j));
  }
  return out;
}

// Every stored app's history (a stopped app keeps its deploy counts), then what each running
// controller holds.
void Fleet::WriteMetrics(metrics::ExpositionWriter& out) const {
  auto apps = env_.store->ListApps();
  if (!apps) {
    kLog.Error("metrics: cannot list apps", {{"error", apps.error().message}});
    return;
  }
  for (const state::AppRecord& rec : *apps) {
    auto history = env_.store->ListReleaseSummaries(rec.name);
    if (history) {
      WriteDeployHistoryMetrics(out, rec.name, *history);
    } else {
      kLog.Error("metrics: cannot read the release history",
                 {{"app", rec.name}, {"error", history.error().message}});
    }
    if (auto it = apps_.find(rec.name); it != apps_.end()) it->second->WriteMetrics(out);
  }
}

std::vector<std::string> Fleet::ReplicaLogs(const std::string& app) const {
  auto it = apps_.find(app);
  if (it == apps_.end()) return {};
  return it->second->ReplicaLogs();
}

std::shared_ptr<const metrics::ReleaseWindow> Fleet::WindowOf(const std::string& app,
                                                              std::int64_t release) const {
  auto it = apps_.find(app);
  return it == apps_.end() ? nullptr : it->second->WindowOf(release);
}

std::map<std::string, TrafficReading> Fleet::ReadTraffic() const {
  std::map<std::string, TrafficReading> out;
  auto apps = env_.store->ListApps();
  if (!apps) return out;
  for (const state::AppRecord& app : *apps) {
    auto it = apps_.find(app.name);
    if (it == apps_.end()) continue;
    TrafficReading& reading = out[app.name] = it->second->ReadTraffic();
    reading.running = app.desired == state::DesiredState::kRunning;
  }
  return out;
}

Status Fleet::ReloadCertificates() { return env_.proxy->ReloadCertificates(); }

namespace {
template <typename Action>
std::optional<Refusal> Control(std::map<std::string, std::unique_ptr<AppController>>& apps,
                               const std::string& app, Action action) {
  auto it = apps.find(app);
  if (it == apps.end()) return Refusal{404, "no app named " + app + " runs here"};
  Status st = action(*it->second);
  if (!st) return Refusal{409, st.error().message};
  return std::nullopt;
}
}  // namespace

std::optional<Refusal> Fleet::Promote(const std::string& app, bool full, const std::string& who) {
  return Control(apps_, app, [&](AppController& c) { return c.Promote(full, who); });
}

std::optional<Refusal> Fleet::Abort(const std::string& app, const std::string& who) {
  return Control(apps_, app, [&](AppController& c) { return c.Abort("", who); });
}

std::optional<Refusal> Fleet::Pause(const std::string& app, const std::string& who) {
  return Control(apps_, app, [&](AppController& c) { return c.Pause(who); });
}

std::optional<Refusal> Fleet::Resume(const std::string& app, const std::string& who) {
  return Control(apps_, app, [&](AppController& c) { return c.ResumeRollout(who); });
}

std::optional<Refusal> Fleet::SetFlag(const std::string& app, const std::string& name,
                                      const std::string& value, const std::string& who) {
  if (!Known(app)) return Refusal{404, "no app named " + app};
  auto spec = CurrentSpec(app);
  if (!spec) return Refusal{409, app + " has no serving release whose spec declares flags"};
  if (!spec->flags.count(name)) {
    std::string names;
    for (const auto& [flag, value] : spec->flags) names += (names.empty() ? "" : ", ") + flag;
    return Refusal{404, "the spec of " + app + " declares no flag named " + name +
                            (names.empty() ? " (it declares none)" : " (flags: " + names + ")")};
  }
  auto parsed = spec::ParseFlagValue(value);
  if (!parsed) {
    return Refusal{400, "flag value \"" + value + "\": expected true, false or a percentage (25%)"};
  }
  if (Status st =
          env_.store->SetFlag(app, name, parsed->ToString(), who, spec->flags.at(name).ToString());
      !st) {
    return Refusal{500, "state: " + st.error().message};
  }
  NotifyEvent(app);
  if (Status st = Controller(app).WriteFlagsFile(*spec); !st) {
    return Refusal{500, st.error().message};
  }
  return std::nullopt;
}

nlohmann::json Fleet::FlagsJson(const std::string& app) const {
  nlohmann::json out = nlohmann::json::array();
  auto spec = CurrentSpec(app);
  if (!spec) return out;
  std::map<std::string, state::FlagRecord> stored;
  if (auto flags = env_.store->ListFlags(app)) {
    for (const auto& f : *flags) stored[f.name] = f;
  }
  for (const auto& [name, value] : spec->flags) {
    nlohmann::json j{{"name", name}, {"value", value.ToString()}, {"source", "spec"}};
    if (auto it = stored.find(name); it != stored.end()) {
      j["value"] = it->second.value;
      j["source"] = "set";
      j["updated_by"] = it->second.updated_by;
      j["updated_at"] = it->second.updated_at;
    }
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json Fleet::AnalysisJson(const std::string& app, std::optional<std::int64_t> release,
                                   int limit) const {
  nlohmann::json out = nlohmann::json::array();
  if (!release) {
    auto it = apps_.find(app);
    if (it != apps_.end()) release = it->second->deploying_release();
    if (!release) {
      auto releases = env_.store->ListReleases(app);
      if (releases && !releases->empty()) release = releases->back().number;
    }
  }
  if (!release) return out;
  auto records = env_.store->RecentAnalysis(app, *release, limit);
  if (!records) return out;
  for (const state::AnalysisRecord& r : *records) {
    out.push_back({{"release", r.release},
                   {"at", r.at},
                   {"step", r.step + 1},
                   {"verdict", r.verdict},
                   {"summary", r.summary},
                   {"checks", nlohmann::json::parse(r.checks_json, nullptr, false)}});
  }
  return out;
}

}  // namespace slipway::rollout
