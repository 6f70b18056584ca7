#include "rollout/fleet.h"

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "common/log.h"

namespace slipway::rollout {

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

void Fleet::Recover() {
  auto failed = env_.store->FailUnfinishedDeploys("the daemon stopped during this deploy");
  if (failed && *failed > 0)
    log::Warn("marked interrupted deploys as failed", {{"count", *failed}});
  auto apps = env_.store->ListApps();
  if (!apps) {
    log::Error("cannot list apps", {{"error", apps.error().message}});
    return;
  }
  for (const state::AppRecord& app : *apps) {
    if (app.desired != state::DesiredState::kRunning || !app.current_release) continue;
    auto rel = env_.store->GetRelease(app.name, *app.current_release);
    if (!rel || !rel->has_value()) continue;
    const state::Release& release = **rel;
    auto parsed = spec::ParseAppSpec(release.spec_yaml, release.spec_file, release.base_dir);
    if (!parsed.spec) {
      log::Error("stored spec no longer parses", {{"app", app.name}});
      continue;
    }
    std::string name = app.name;
    Controller(name).Resume(release, *parsed.spec, [name](slipway::Status st) {
      if (!st)
        log::Error("could not bring app back", {{"app", name}, {"error", st.error().message}});
    });
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

std::vector<std::string> Fleet::ReplicaLogs(const std::string& app) const {
  auto it = apps_.find(app);
  if (it == apps_.end()) return {};
  return it->second->ReplicaLogs();
}

Status Fleet::ReloadCertificates() { return env_.proxy->ReloadCertificates(); }

}  // namespace slipway::rollout
