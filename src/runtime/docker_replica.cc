#include "runtime/docker_replica.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/log.h"
#include "runtime/docker_exec.h"
#include "runtime/docker_stream.h"

namespace slipway::runtime {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr log::Logger kLog{"runtime"};

// How long a stop waits for the last output of a stopped container before removing it.
constexpr Millis kLogDrainWait{2000};

std::string DescribeContainerExit(int code) {
  std::string text = "exit " + std::to_string(code);
  if (code > 128 && code < 128 + 32) {
    const char* abbrev = sigabbrev_np(code - 128);
    if (abbrev) text += std::string(" (killed by SIG") + abbrev + ")";
  }
  return text;
}

// The replica's log file: JSON lines, one rotated copy (path + ".1") once it reaches the cap.
class ContainerLogFile {
 public:
  ContainerLogFile(std::string path, std::uint64_t max_bytes)
      : path_(std::move(path)), max_bytes_(max_bytes) {}
  ~ContainerLogFile() { Close(); }

  // The time of the last record in the file (to resume after it), or "".
  std::string LastTime() const {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return "";
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    std::streamoff from = std::max<std::streamoff>(0, size - 64 * 1024);
    in.seekg(from);
    std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string last;
    std::size_t start = 0;
    while (start < tail.size()) {
      std::size_t nl = tail.find('\n', start);
      std::size_t end = nl == std::string::npos ? tail.size() : nl;
      if (auto t = LogRecordTime(std::string_view(tail).substr(start, end - start))) last = *t;
      start = end + 1;
    }
    return last;
  }

  void Write(const std::string& line) {
    if (fd_ < 0 && !Open()) return;
    if (max_bytes_ > 0 && size_ + line.size() > max_bytes_ && size_ > 0) Rotate();
    if (fd_ < 0) return;
    if (::write(fd_, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
      size_ += line.size();
    }
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool Open() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) {
      if (!warned_) {
        kLog.Warn("cannot open a container log file",
                  {{"path", path_}, {"error", std::strerror(errno)}});
      }
      warned_ = true;
      return false;
    }
    std::error_code ec;
    size_ = std::filesystem::file_size(path_, ec);
    if (ec) size_ = 0;
    return true;
  }

  void Rotate() {
    Close();
    std::error_code ec;
    std::filesystem::rename(path_, path_ + ".1", ec);
    Open();
  }

  std::string path_;
  std::uint64_t max_bytes_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool warned_ = false;
};

}  // namespace

void ContainerCensus::Add(LeftContainer container) {
  auto it = container.labels.find(kLabelToken);
  if (it == container.labels.end() || it->second.empty()) return;
  std::string token = it->second;
  by_token_[token] = std::move(container);
}

std::optional<LeftContainer> ContainerCensus::Take(const std::string& token) {
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return std::nullopt;
  LeftContainer out = std::move(it->second);
  by_token_.erase(it);
  return out;
}

std::vector<LeftContainer> ContainerCensus::TakeRemaining() {
  std::vector<LeftContainer> out;
  for (auto& [token, c] : by_token_) out.push_back(std::move(c));
  by_token_.clear();
  return out;
}

struct DockerReplica::Impl : std::enable_shared_from_this<DockerReplica::Impl> {
  Impl(asio::io_context& io_in, DockerEngine* engine_in, ContainerCensus* census_in,
       ContainerSpec spec_in, ReplicaObserver* observer_in, BackoffPolicy backoff_in)
      : io(io_in),
        engine(engine_in),
        census(census_in),
        spec(std::move(spec_in)),
        observer(observer_in),
        backoff(backoff_in),
        next_delay(backoff.initial),
        restart_timer(io),
        kill_timer(io),
        drain_timer(io),
        log_file(spec.log_path, spec.log_max_bytes) {
    limits.cgroup_layout = "docker";
    limits.memory_applied =
        spec.limits.memory_bytes.has_value() || spec.limits.memory_reservation_bytes.has_value();
    limits.cpu_applied = spec.limits.cpu.has_value() || spec.limits.cpu_reservation.has_value();
    limits.pids_applied = spec.limits.processes.has_value();
  }

  std::weak_ptr<Impl> weak() { return weak_from_this(); }

  // Runs `fn` on the impl if it is still alive and not torn down.
  template <typename Fn>
  auto Guard(Fn fn) {
    return [w = weak(), fn = std::move(fn)](auto&&... args) mutable {
      auto self = w.lock();
      if (!self || self->dead) return;
      fn(*self, std::forward<decltype(args)>(args)...);
    };
  }

  Status Start() {
    if (state != ReplicaState::kStopped) return Error{"replica " + spec.name + " already started"};
    if (engine == nullptr) return Error{"no Docker engine is configured"};
    ResetForRun();
    token = NewReplicaToken();
    last_log_time.clear();
    state = ReplicaState::kStarting;
    // A container of the same name blocks the create: if Slipway made it, it goes.
    engine->InspectContainer(
        spec.name, Guard([](Impl& self, Result<nlohmann::json> found) {
          if (self.stopping) return self.Finish();
          if (!found) return self.Create();
          const auto& labels = (*found)["Config"]["Labels"];
          if (!labels.is_object() || !labels.contains(kLabelApp)) {
            return self.Fail("a container named " + self.spec.name +
                             " exists and was not made by Slipway; remove or rename it");
          }
          std::string stale = (*found)["Id"].get<std::string>();
          self.engine->RemoveContainer(stale, true, self.Guard([](Impl& me, Status removed) {
            if (!removed)
              return me.Fail("cannot remove the leftover container " + me.spec.name + ": " +
                             removed.error().message);
            me.Create();
          }));
        }));
    return Ok();
  }

  void Create() {
    if (stopping) return Finish();
    nlohmann::json body = ContainerCreateBody(spec, token);
    engine->CreateContainer(
        spec.name, body, Guard([](Impl& self, Result<std::string> id) {
          if (!id)
            return self.Fail("create container " + self.spec.name + ": " + id.error().message);
          self.container_id = *id;
          if (self.stopping) return self.RemoveAndFinish();
          self.WaitThenStart(/*first=*/true);
        }));
  }

  // Registers the exit watch first, then starts: an exit right after the start is not missed.
  void WaitThenStart(bool first) {
    const std::uint64_t this_run = ++run;
    auto started = std::make_shared<bool>(false);
    wait_stream = engine->WaitContainer(
        container_id, "next-exit", Guard([first, this_run, started](Impl& self) {
          if (*started || this_run != self.run) return;
          *started = true;
          if (self.stopping) return self.RemoveAndFinish();
          self.engine->StartContainer(
              self.container_id, self.Guard([first, this_run](Impl& me, Status st) {
                if (this_run != me.run) return;
                if (me.stopping) return me.RemoveAndFinish();
                if (!st) {
                  me.CancelWait();
                  std::string why = "start container " + me.spec.name + ": " + st.error().message;
                  if (first) return me.Fail(why);
                  return me.ScheduleRestart(0, why, Clock::duration::zero());
                }
                me.InspectThenRun(this_run);
              }));
        }),
        Guard([this_run](Impl& self, Result<int> code) { self.OnExit(this_run, code); }));
  }

  void InspectThenRun(std::uint64_t this_run) {
    started_run = this_run;
    engine->InspectContainer(container_id,
                             Guard([this_run](Impl& self, Result<nlohmann::json> info) {
                               if (this_run != self.run) return;
                               if (self.stopping) return self.RemoveAndFinish();
                               if (self.state != ReplicaState::kStarting)
                                 return;  // it exited meanwhile (OnExit)
                               int main_pid = 0;
                               if (info) main_pid = (*info)["State"].value("Pid", 0);
                               self.Running(main_pid);
                             }));
  }

  Status Adopt(const ReplicaIdentity& id) {
    if (state != ReplicaState::kStopped) return Error{"replica " + spec.name + " already started"};
    if (engine == nullptr) return Error{"adopt " + spec.name + ": no Docker engine is configured"};
    std::optional<LeftContainer> left = census ? census->Take(id.token) : std::nullopt;
    if (!left) {
      return Error{"adopt " + spec.name + ": no container labelled " + kLabelToken + "=" +
                   id.token + " is left"};
    }
    auto label = [&](const char* key) {
      auto it = left->labels.find(key);
      return it == left->labels.end() ? std::string() : it->second;
    };
    if (label(kLabelApp) != spec.app || label(kLabelRelease) != std::to_string(spec.release) ||
        label(kLabelReplica) != std::to_string(spec.replica)) {
      return Error{"adopt " + spec.name + ": container " + left->id.substr(0, 12) +
                   " is labelled for another replica"};
    }
    if (!left->running) {
      // Gone while no daemon watched it: it is removed; the rollout starts a new replica.
      engine->RemoveContainer(left->id, true, [](Status) {});
      return Error{"adopt " + spec.name + ": container " + left->id.substr(0, 12) +
                   " is not running any more"};
    }
    ResetForRun();
    container_id = left->id;
    token = id.token;
    last_log_time = log_file.LastTime();
    state = ReplicaState::kStarting;
    const std::uint64_t this_run = ++run;
    wait_stream = engine->WaitContainer(
        container_id, "not-running", nullptr,
        Guard([this_run](Impl& self, Result<int> code) { self.OnExit(this_run, code); }));
    Running(id.pid);
    InspectPid(this_run);
    return Ok();
  }

  void InspectPid(std::uint64_t this_run) {
    engine->InspectContainer(container_id,
                             Guard([this_run](Impl& self, Result<nlohmann::json> info) {
                               if (this_run != self.run || !info || self.pid == 0) return;
                               int main_pid = (*info)["State"].value("Pid", 0);
                               if (main_pid > 0) self.pid = main_pid;
                             }));
  }

  void ResetForRun() {
    stopping = false;
    removing = false;
    restart_reason.clear();
    restarts = 0;
    next_delay = backoff.initial;
  }

  void Running(int main_pid) {
    pid = main_pid > 0 ? main_pid : 0;
    running = true;
    state = ReplicaState::kRunning;
    started_at = Clock::now();
    const int reported = pid;
    asio::post(io, Guard([reported](Impl& self) { self.observer->OnReplicaStarted(reported); }));
    FollowLogs();
  }

  void FollowLogs() {
    if (log_stream) log_stream->Cancel();
    logs_done = false;
    std::string since;
    if (!last_log_time.empty()) since = SinceAfter(last_log_time).value_or("");
    auto decoder = std::make_shared<MultiplexDecoder>();
    auto lines = std::make_shared<std::map<int, LineSplitter>>();
    log_stream = engine->FollowLogs(
        container_id, since, Guard([decoder, lines](Impl& self, std::string_view bytes) {
          decoder->Feed(bytes, [&](int stream, std::string_view payload) {
            (*lines)[stream].Feed(payload,
                                  [&](std::string_view line) { self.WriteLog(stream, line); });
          });
        }),
        Guard([lines](Impl& self, Status) {
          for (auto& [stream, splitter] : *lines) {
            if (auto last = splitter.Flush()) self.WriteLog(stream, *last);
          }
          self.logs_done = true;
          if (self.removing) self.drain_timer.cancel();
        }));
  }

  void WriteLog(int stream, std::string_view line) {
    auto split = SplitTimestamp(line);
    if (!split) return;
    last_log_time = split->time;
    log_file.Write(LogRecordLine(split->time, spec.app, spec.release, spec.replica,
                                 stream == 2 ? "stderr" : "stdout", split->message));
  }

  void OnExit(std::uint64_t exited_run, Result<int> code) {
    if (exited_run != run) return;
    wait_stream.reset();  // it has ended
    if (!running && !stopping) {
      if (started_run == exited_run && state == ReplicaState::kStarting) {
        // It started and exited before its inspection came back: it ran, briefly. Started is
        // reported first (posted), then this exit.
        Running(0);
        asio::post(io, Guard([exited_run, code](Impl& self) { self.OnExit(exited_run, code); }));
        return;
      }
      // The wait ended before the container ran (the engine went away): retry the start.
      if (state == ReplicaState::kStarting && !code) {
        return ScheduleRestart(0, "wait: " + code.error().message, Clock::duration::zero());
      }
      return;
    }
    const int exited_pid = pid;
    pid = 0;
    running = false;
    kill_timer.cancel();
    std::string description = code ? DescribeContainerExit(*code)
                                   : "exited (status unknown: " + code.error().message + ")";
    if (stopping) {
      state = ReplicaState::kStopping;
      observer->OnReplicaExited(exited_pid, description, false, Millis{0});
      RemoveAndFinish();
      return;
    }
    if (!restart_reason.empty()) {
      description += " (restart: " + restart_reason + ")";
      restart_reason.clear();
    }
    // Docker knows whether the kernel's OOM killer ended it.
    engine->InspectContainer(
        container_id, Guard([exited_pid, description, ran = Clock::now() - started_at](
                                Impl& self, Result<nlohmann::json> info) mutable {
          // A Stop() in the meantime has taken over (it removes the container).
          if (self.stopping || self.state != ReplicaState::kRunning || self.running) return;
          if (info && (*info)["State"].value("OOMKilled", false)) description += " (out of memory)";
          self.ScheduleRestart(exited_pid, description, ran);
        }));
  }

  void ScheduleRestart(int exited_pid, const std::string& description, Clock::duration ran) {
    if (ran >= backoff.reset_after) next_delay = backoff.initial;
    Millis delay = next_delay;
    next_delay = std::min(next_delay * 2, backoff.max);
    state = ReplicaState::kBackingOff;
    restart_timer.expires_after(delay);
    restart_timer.async_wait([w = weak()](boost::system::error_code ec) {
      if (auto self = w.lock(); self && !ec && !self->dead) self->Respawn();
    });
    observer->OnReplicaExited(exited_pid, description, true, delay);
  }

  void Respawn() {
    if (stopping || state != ReplicaState::kBackingOff) return;
    ++restarts;
    state = ReplicaState::kStarting;
    WaitThenStart(/*first=*/false);
  }

  // Permanent failure before anything ran: reported once, no restart.
  void Fail(const std::string& why) {
    CancelWait();
    state = ReplicaState::kStopped;
    running = false;
    pid = 0;
    if (!container_id.empty()) {
      engine->RemoveContainer(container_id, true, [](Status) {});
      container_id.clear();
    }
    observer->OnReplicaExited(0, why, false, Millis{0});
    FinishCallbacks();
  }

  void Restart(const std::string& reason) {
    if (dead || stopping || !running || !restart_reason.empty()) return;
    restart_reason = reason.empty() ? "requested" : reason;
    Terminate();
  }

  void Stop(std::function<void()> on_stopped) {
    if (on_stopped) stop_callbacks.push_back(std::move(on_stopped));
    if (dead) return;
    restart_timer.cancel();
    if (stopping) return;
    stopping = true;
    const ReplicaState before = state;
    state = ReplicaState::kStopping;
    if (running) {
      Terminate();
    } else if (before == ReplicaState::kStarting) {
      // An async step of the start is in flight; it sees `stopping` and finishes the stop.
    } else {
      RemoveAndFinish();
    }
  }

  // Stop signal now, SIGKILL after the grace period.
  void Terminate() {
    engine->KillContainer(container_id, spec.stop_signal, [](Status) {});
    kill_timer.expires_after(spec.grace_period);
    kill_timer.async_wait([w = weak()](boost::system::error_code ec) {
      auto self = w.lock();
      if (!self || ec || self->dead || !self->running) return;
      self->engine->KillContainer(self->container_id, "SIGKILL", [](Status) {});
    });
  }

  void CancelWait() {
    if (wait_stream) wait_stream->Cancel();
    wait_stream.reset();
  }

  // Waits (briefly) for the last output, removes the container, then reports the stop.
  void RemoveAndFinish() {
    if (removing) return;
    removing = true;
    CancelWait();
    kill_timer.cancel();
    if (container_id.empty()) return Finish();
    auto remove = [w = weak()](boost::system::error_code) {
      auto self = w.lock();
      if (!self || self->dead) return;
      if (self->log_stream) self->log_stream->Cancel();
      self->log_stream.reset();
      self->engine->RemoveContainer(self->container_id, true, self->Guard([](Impl& me, Status st) {
        if (!st) {
          kLog.Warn("cannot remove a stopped container",
                    {{"replica", me.spec.name}, {"error", st.error().message}});
        }
        me.container_id.clear();
        me.Finish();
      }));
    };
    if (!log_stream || logs_done || running) {
      // Running: the force remove kills it (a start was in flight when the stop came).
      remove({});
      return;
    }
    drain_timer.expires_after(kLogDrainWait);
    drain_timer.async_wait(remove);
  }

  void Finish() {
    state = ReplicaState::kStopped;
    running = false;
    pid = 0;
    stopping = false;
    log_file.Close();
    FinishCallbacks();
  }

  void FinishCallbacks() {
    auto callbacks = std::move(stop_callbacks);
    stop_callbacks.clear();
    for (auto& cb : callbacks) cb();
  }

  void Shutdown() {
    dead = true;
    restart_timer.cancel();
    kill_timer.cancel();
    drain_timer.cancel();
    CancelWait();
    if (log_stream) log_stream->Cancel();
    if (!container_id.empty() && engine != nullptr) {
      if (Status st = engine->RemoveContainerNow(container_id); !st) {
        kLog.Warn("cannot remove a container",
                  {{"replica", spec.name}, {"error", st.error().message}});
      }
    }
  }

  asio::io_context& io;
  DockerEngine* const engine;
  ContainerCensus* const census;
  const ContainerSpec spec;
  ReplicaObserver* const observer;
  const BackoffPolicy backoff;

  ReplicaState state = ReplicaState::kStopped;
  std::string container_id;
  std::string token;
  int pid = 0;
  bool running = false;  // the container's process runs (as far as the wait stream knows)
  std::uint64_t run = 0;
  std::uint64_t started_run = 0;  // the run whose container start succeeded
  Clock::time_point started_at;
  int restarts = 0;
  Millis next_delay;
  bool stopping = false;
  bool removing = false;
  bool dead = false;
  bool logs_done = true;
  std::string restart_reason;
  std::string last_log_time;
  std::vector<std::function<void()>> stop_callbacks;
  LimitsReport limits;
  std::shared_ptr<DockerEngine::Stream> wait_stream;
  std::shared_ptr<DockerEngine::Stream> log_stream;
  asio::steady_timer restart_timer;
  asio::steady_timer kill_timer;
  asio::steady_timer drain_timer;
  ContainerLogFile log_file;
};

DockerReplica::DockerReplica(asio::io_context& io, DockerEngine* engine, ContainerCensus* census,
                             ContainerSpec spec, ReplicaObserver* observer, BackoffPolicy backoff)
    : impl_(std::make_shared<Impl>(io, engine, census, std::move(spec), observer, backoff)) {}

DockerReplica::~DockerReplica() { impl_->Shutdown(); }

Status DockerReplica::Start() { return impl_->Start(); }
Status DockerReplica::Adopt(const ReplicaIdentity& identity) { return impl_->Adopt(identity); }
void DockerReplica::Restart(const std::string& reason) { impl_->Restart(reason); }
void DockerReplica::Stop(std::function<void()> on_stopped) { impl_->Stop(std::move(on_stopped)); }
void DockerReplica::RunExec(std::vector<std::string> argv, Millis timeout,
                            std::function<void(ExecOutcome)> done) {
  if (!impl_->running || impl_->container_id.empty() || impl_->engine == nullptr) {
    ExecOutcome outcome;
    outcome.error = "the container is not running";
    asio::post(impl_->io, [done = std::move(done), outcome] { done(outcome); });
    return;
  }
  // The exec's User defaults to the container's own (the image's USER or the spec's user).
  RunDockerExec(impl_->engine, impl_->container_id, impl_->spec.user, std::move(argv), timeout,
                std::move(done));
}
int DockerReplica::pid() const { return impl_->running ? impl_->pid : 0; }
std::optional<ReplicaIdentity> DockerReplica::identity() const {
  if (!impl_->running || impl_->token.empty()) return std::nullopt;
  ReplicaIdentity id;
  id.pid = impl_->pid;
  id.token = impl_->token;
  return id;
}
ReplicaState DockerReplica::state() const { return impl_->state; }
int DockerReplica::restarts() const { return impl_->restarts; }
const LimitsReport& DockerReplica::limits() const { return impl_->limits; }
const std::string& DockerReplica::container_id() const { return impl_->container_id; }
const ContainerSpec& DockerReplica::spec() const { return impl_->spec; }

}  // namespace slipway::runtime
