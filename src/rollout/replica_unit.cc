#include "rollout/replica_unit.h"

#include "proxy/balancer.h"
#include "runtime/process_replica.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cctype>
#include <filesystem>

#include "common/duration.h"

namespace slipway::rollout {

namespace asio = boost::asio;

// Liveness has its own consumer so its verdicts are not confused with readiness ones.
class ReplicaUnit::LivenessConsumer : public health::ProbeConsumer {
 public:
  explicit LivenessConsumer(ReplicaUnit* unit) : unit_(unit) {}
  void OnHealthy() override {}
  void OnUnhealthy(const health::ProbeResult& last) override {
    if (unit_->retiring_ || !unit_->process_) return;
    std::string why = fmt::format("liveness probe failed {} times: {}",
                                  unit_->config_.spec.liveness->failure_threshold, last.detail);
    unit_->listener_->OnUnitEvent(*unit_, "replica.liveness_failed", why + "; restarting");
    unit_->SetReady(false);
    // Posted: the probe loops must not be destroyed from inside their own callback.
    asio::post(unit_->io_, [unit = unit_, why, alive = unit_->alive_] {
      if (!*alive || unit->retiring_ || !unit->process_) return;
      unit->StopProbes();
      unit->process_->Restart(why);
    });
  }

 private:
  ReplicaUnit* unit_;
};

ReplicaUnit::ReplicaUnit(asio::io_context& io, UnitConfig config, UnitListener* listener)
    : io_(io),
      config_(std::move(config)),
      listener_(listener),
      name_(fmt::format("{}-r{}-{}", config_.app, config_.release, config_.index)),
      backend_(std::make_shared<proxy::Backend>()) {
  backend_->id = name_;
  backend_->port = config_.port;
  backend_->release = config_.release;
  backend_->window = config_.window;
  backend_->counters = config_.counters;
}

ReplicaUnit::~ReplicaUnit() {
  *alive_ = false;
  StopProbes();
  backend_->draining = true;
  process_.reset();  // SIGKILLs and reaps anything still running
}

std::string ReplicaUnit::log_path() const { return config_.log_dir + "/" + name_ + ".log"; }

// Builds the process's launch spec (same for a spawn and an adoption).
Status ReplicaUnit::Prepare() {
  const spec::AppSpec& s = config_.spec;
  runtime::LaunchSpec launch;
  launch.name = name_;
  // Daemons with other state dirs may run a replica of the same name: the cgroup name carries
  // a hash of this daemon's log dir, stable across its restarts so an adoption finds the group.
  std::uint32_t dir_hash = 2166136261u;  // FNV-1a: the same in every build
  for (unsigned char c : config_.log_dir) dir_hash = (dir_hash ^ c) * 16777619u;
  launch.cgroup_name = fmt::format("{}-{:08x}", name_, dir_hash);
  launch.command = s.command;
  launch.args = s.args;
  launch.env = s.env;
  launch.env["PORT"] = std::to_string(config_.port);
  launch.env.try_emplace("SLIPWAY_APP", config_.app);
  launch.env.try_emplace("SLIPWAY_RELEASE", std::to_string(config_.release));
  launch.env.try_emplace("SLIPWAY_REPLICA", std::to_string(config_.index));
  if (!config_.flags_file.empty()) {
    launch.env.try_emplace("SLIPWAY_FLAGS_FILE", config_.flags_file);
    for (const auto& [name, value] : config_.flags) {
      std::string upper = name;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      launch.env.try_emplace("SLIPWAY_FLAG_" + upper, value);
    }
  }
  // A minimal PATH so scripts work; the rest of the daemon's environment is not leaked.
  launch.env.try_emplace("PATH", "/usr/local/bin:/usr/bin:/bin");
  launch.user = s.user;
  launch.group = s.group;
  launch.allow_root = s.allow_root;
  launch.workdir = s.workdir;
  launch.limits = s.limits;
  launch.log_path = log_path();
  launch.log_max_bytes = s.log_max_bytes;
  launch.log_labels = {config_.app, config_.release, config_.index};
  launch.stop_signal = s.stop.signal;
  launch.grace_period = s.stop.grace_period;
  if (!s.image.empty()) {
    if (config_.docker == nullptr) {
      return Error{"this daemon has no Docker engine configured (see --docker-host)"};
    }
    process_ = std::make_unique<runtime::DockerReplica>(
        io_, config_.docker, config_.census, ContainerSpecFor(launch),
        static_cast<runtime::ReplicaObserver*>(this));
    return Status(Ok());
  }
  process_ = std::make_unique<runtime::ProcessReplica>(
      io_, std::move(launch), static_cast<runtime::ReplicaObserver*>(this));
  return Status(Ok());
}

// The container form of the launch spec: the image's entrypoint, CMD, USER and WORKDIR unless
// the spec replaces them. The flags file's directory (the app's own, holding only its flags) is
// mounted read-only and $SLIPWAY_FLAGS_FILE names the file inside the container.
runtime::ContainerSpec ReplicaUnit::ContainerSpecFor(const runtime::LaunchSpec& launch) const {
  const spec::AppSpec& s = config_.spec;
  runtime::ContainerSpec c;
  c.name = "slipway-" + name_;
  c.app = config_.app;
  c.release = config_.release;
  c.replica = config_.index;
  c.owner = config_.docker_owner;
  c.image = s.image_id.empty() ? s.image : s.image_id;
  if (!s.command.empty()) c.entrypoint = s.command;
  if (s.args_given || !s.command.empty()) c.args = s.args;
  c.env = launch.env;
  c.env.erase("PATH");
  if (!config_.flags_file.empty()) {
    const std::filesystem::path file(config_.flags_file);
    c.flags_dir = file.parent_path().string();
    c.env["SLIPWAY_FLAGS_FILE"] =
        std::string(runtime::kContainerFlagsDir) + "/" + file.filename().string();
  }
  if (s.user_given) c.user = s.group ? s.user + ":" + *s.group : s.user;
  if (s.workdir_given) c.workdir = s.workdir;
  c.limits = s.limits;
  c.host_network = s.docker.network == spec::DockerNetwork::kHost;
  c.port = config_.port;
  c.read_only_rootfs = s.docker.read_only;
  c.cap_add = s.docker.cap_add;
  c.volumes = s.docker.volumes;
  c.stop_signal = s.stop.signal_name;
  c.grace_period = s.stop.grace_period;
  c.log_path = launch.log_path;
  c.log_max_bytes = launch.log_max_bytes;
  return c;
}

Status ReplicaUnit::Start() {
  if (Status st = Prepare(); !st) return st;
  started_at_ = Clock::now();
  Status st = process_->Start();
  if (!st) {
    fatal_error_ = st.error().message;
    stopped_ = true;
  }
  return st;
}

Status ReplicaUnit::Adopt(const runtime::ProcessIdentity& identity, bool was_ready) {
  if (Status st = Prepare(); !st) return st;
  started_at_ = Clock::now();
  Status st = process_->Adopt(identity);
  if (!st) {
    stopped_ = true;
    return st;
  }
  ever_ready_ = was_ready;
  ready_ = was_ready;
  // ProcessReplica posts OnReplicaStarted, which stores the identity again and starts the
  // probes (the first at once: ready again within one probe).
  return st;
}

std::optional<runtime::ProcessIdentity> ReplicaUnit::identity() const {
  return process_ ? process_->identity() : std::nullopt;
}

int ReplicaUnit::restarts() const { return process_ ? process_->restarts() : 0; }

int ReplicaUnit::pid() const { return process_ ? process_->pid() : 0; }

ReplicaUnit::Clock::time_point ReplicaUnit::startup_deadline() const {
  return started_at_ + config_.spec.readiness.startup_timeout;
}

std::string ReplicaUnit::not_ready_reason() const {
  if (!fatal_error_.empty()) return fatal_error_;
  std::string probe;
  const spec::Probe& p = config_.spec.readiness;
  std::string what;
  switch (p.type) {
    case spec::ProbeType::kHttp:
      what = fmt::format("GET {} on port {}", p.path, config_.port);
      break;
    case spec::ProbeType::kTcp:
      what = fmt::format("TCP connect on port {}", config_.port);
      break;
    case spec::ProbeType::kExec:
      what = fmt::format("exec {}", fmt::join(p.command, " "));
      break;
    case spec::ProbeType::kRunning:
      what = fmt::format("running for {}", FormatDuration(p.running_for));
      break;
  }
  if (readiness_ && !readiness_->last_result().detail.empty()) {
    probe = fmt::format("readiness probe {}: {}", what, readiness_->last_result().detail);
  } else {
    probe = fmt::format("readiness probe {}: no answer yet", what);
  }
  if (!last_exit_.empty()) probe += fmt::format(" (process {})", last_exit_);
  return probe;
}

void ReplicaUnit::StartProbes() {
  StopProbes();
  readiness_ = std::make_unique<health::ProbeLoop>(io_, config_.spec.readiness, config_.port,
                                                   static_cast<health::ProbeConsumer*>(this),
                                                   static_cast<health::ExecRunner*>(this));
  readiness_->Start();
}

void ReplicaUnit::StopProbes() {
  if (readiness_) readiness_->Stop();
  if (liveness_) liveness_->Stop();
  readiness_.reset();
  liveness_.reset();
}

void ReplicaUnit::SetReady(bool ready) {
  if (ready_ == ready) return;
  ready_ = ready;
  listener_->OnUnitChanged(*this);
}

void ReplicaUnit::OnReplicaStarted(int pid) {
  last_exit_.clear();
  listener_->OnUnitStarted(*this);
  listener_->OnUnitEvent(*this, "replica.started",
                         fmt::format("{} started: pid {}, port {}", name_, pid, config_.port));
  if (!retiring_) StartProbes();
}

void ReplicaUnit::OnReplicaExited(int pid, const std::string& description, bool will_restart,
                                  runtime::Millis restart_in) {
  last_exit_ = fmt::format("pid {} {}", pid, description);
  StopProbes();
  if (retiring_) return;  // an expected exit
  std::string msg = fmt::format("{} exited ({})", name_, last_exit_);
  if (will_restart) {
    msg += fmt::format("; restarting in {}", FormatDuration(restart_in));
  } else {
    fatal_error_ = fmt::format("{} exited and cannot be restarted: {}", name_, description);
    stopped_ = true;
  }
  listener_->OnUnitEvent(*this, "replica.exited", msg);
  SetReady(false);
  listener_->OnUnitChanged(*this);
}

void ReplicaUnit::OnHealthy() {
  if (retiring_) return;
  if (!ever_ready_) {
    ever_ready_ = true;
    auto took = std::chrono::duration_cast<Millis>(Clock::now() - started_at_);
    listener_->OnUnitEvent(*this, "replica.ready",
                           fmt::format("{} is ready (after {})", name_, FormatDuration(took)));
  } else {
    listener_->OnUnitEvent(*this, "replica.ready", name_ + " is ready again");
  }
  if (config_.spec.liveness && !liveness_) {
    liveness_consumer_ = std::make_unique<LivenessConsumer>(this);
    liveness_ = std::make_unique<health::ProbeLoop>(io_, *config_.spec.liveness, config_.port,
                                                    liveness_consumer_.get(),
                                                    static_cast<health::ExecRunner*>(this));
    liveness_->Start();
  }
  SetReady(true);
}

void ReplicaUnit::OnUnhealthy(const health::ProbeResult& last) {
  if (retiring_) return;
  if (ready_) {
    listener_->OnUnitEvent(*this, "replica.unready",
                           fmt::format("{} lost readiness: {}", name_, last.detail));
  }
  SetReady(false);
  listener_->OnUnitChanged(*this);  // lets a rollout notice a failing start early
}

void ReplicaUnit::RunExec(std::vector<std::string> argv, spec::Millis timeout,
                          std::function<void(ExecOutcome)> done) {
  if (!process_) {
    asio::post(io_, [done = std::move(done)] {
      ExecOutcome outcome;
      outcome.error = "the replica is not running";
      done(std::move(outcome));
    });
    return;
  }
  process_->RunExec(std::move(argv), timeout, std::move(done));
}

void ReplicaUnit::Retire(std::function<void()> done) {
  if (retiring_) return;
  retiring_ = true;
  backend_->draining = true;
  ready_ = false;
  listener_->OnUnitChanged(*this);  // the owner republishes the pool without this unit
  WaitForDrain([this, done = std::move(done), alive = alive_]() mutable {
    if (!*alive) return;
    StopProbes();
    auto finish = [this, done = std::move(done), alive]() {
      if (!*alive) return;
      stopped_ = true;
      listener_->OnUnitEvent(*this, "replica.stopped", name_ + " stopped");
      if (done) done();
      if (*alive) listener_->OnUnitChanged(*this);
    };
    if (process_) {
      process_->Stop(std::move(finish));
    } else {
      finish();
    }
  });
}

struct ReplicaUnit::Drain {
  explicit Drain(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  std::function<void()> done;
  Clock::time_point deadline;
  int idle_polls = 0;
};

void ReplicaUnit::WaitForDrain(std::function<void()> done) {
  drain_ = std::make_unique<Drain>(io_);
  drain_->done = std::move(done);
  drain_->deadline = Clock::now() + config_.spec.proxy.drain_timeout;
  PollDrain();
}

void ReplicaUnit::PollDrain() {
  // In-flight requests finish first. Two consecutive idle polls guard against a proxy thread
  // that picked this backend from the old snapshot just before it left the pool.
  drain_->idle_polls = backend_->inflight.load() == 0 ? drain_->idle_polls + 1 : 0;
  if (drain_->idle_polls >= 2 || Clock::now() >= drain_->deadline) {
    if (backend_->inflight.load() > 0) {
      listener_->OnUnitEvent(*this, "replica.drain_timeout",
                             fmt::format("{}: {} requests still in flight after the drain timeout",
                                         name_, backend_->inflight.load()));
    }
    auto done = std::move(drain_->done);
    done();
    return;
  }
  drain_->timer.expires_after(std::chrono::milliseconds(25));
  drain_->timer.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!ec && *alive) PollDrain();
  });
}

nlohmann::json ReplicaUnit::ToJson() const {
  nlohmann::json j;
  j["name"] = name_;
  j["release"] = config_.release;
  j["index"] = config_.index;
  j["port"] = config_.port;
  j["pid"] = process_ ? process_->pid() : 0;
  std::string state;
  if (stopped_) {
    state = fatal_error_.empty() ? "stopped" : "failed";
  } else if (retiring_) {
    state = "draining";
  } else if (ready_) {
    state = "ready";
  } else if (process_ && process_->state() == runtime::ReplicaState::kBackingOff) {
    state = "restarting";
  } else {
    state = ever_ready_ ? "unready" : "starting";
  }
  j["state"] = state;
  j["restarts"] = process_ ? process_->restarts() : 0;
  j["requests"] = backend_->requests.load();
  j["inflight"] = backend_->inflight.load();
  // Passive health, as the proxy sees this replica.
  j["ejections"] = backend_->ejections.load();
  j["ejected"] = proxy::Balancer::Ejected(*backend_, std::chrono::steady_clock::now());
  if (!last_exit_.empty()) j["last_exit"] = last_exit_;
  if (!fatal_error_.empty()) j["error"] = fatal_error_;
  if (auto* docker = dynamic_cast<const runtime::DockerReplica*>(process_.get())) {
    j["driver"] = "docker";
    j["container"] = docker->container_id();
    j["image"] = docker->spec().image;
  } else {
    j["driver"] = "process";
  }
  if (process_) {
    const runtime::LimitsReport& l = process_->limits();
    j["limits"] = {{"cgroup", l.cgroup_layout},
                   {"memory_applied", l.memory_applied},
                   {"cpu_applied", l.cpu_applied},
                   {"pids_applied", l.pids_applied},
                   {"note", l.note}};
  }
  j["log"] = log_path();
  return j;
}

}  // namespace slipway::rollout
