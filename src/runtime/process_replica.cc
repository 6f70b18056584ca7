#include "runtime/process_replica.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <thread>
#include <vector>

#include "common/log.h"
#include "runtime/cgroups.h"
#include "runtime/child_reaper.h"
#include "runtime/log_relay.h"
#include "runtime/proc_stat.h"
#include "runtime/process_exec.h"
#include "runtime/process_exit_watch.h"
#include "runtime/spawn.h"

namespace slipway::runtime {

constexpr log::Logger kLog{"runtime"};

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr Millis kGroupPoll{10};
constexpr Millis kCgroupRetry{50};
constexpr int kCgroupAttempts = 40;
// The destructor's bound for SIGKILLed processes that are not our children to die.
constexpr Millis kUnreapableKillWait{1000};

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(status));
    return abbrev ? std::string("killed by SIG") + abbrev
                  : "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return "status " + std::to_string(status);
}

// The wait status of an adopted process that just exited, read from its zombie; nullopt once
// its parent (init, or another subreaper) has reaped it.
std::optional<int> ZombieExitStatus(const ProcessIdentity& id) {
  Result<ProcStat> st = ReadProcStat(id.pid);
  if (!st || !st->dead() || st->start_time != id.start_time) return std::nullopt;
  return st->exit_code;
}

}  // namespace

const char* ReplicaStateName(ReplicaState s) {
  switch (s) {
    case ReplicaState::kStarting:
      return "starting";
    case ReplicaState::kRunning:
      return "running";
    case ReplicaState::kBackingOff:
      return "backing-off";
    case ReplicaState::kStopping:
      return "stopping";
    case ReplicaState::kStopped:
      return "stopped";
  }
  return "unknown";
}

struct ProcessReplica::Impl : std::enable_shared_from_this<ProcessReplica::Impl> {
  Impl(asio::io_context& io_in, LaunchSpec spec_in, ReplicaObserver* observer_in,
       BackoffPolicy backoff_in)
      : io(io_in),
        spec(std::move(spec_in)),
        observer(observer_in),
        backoff(backoff_in),
        next_delay(backoff.initial),
        restart_timer(io),
        kill_timer(io),
        poll_timer(io),
        cgroup_timer(io) {
    // SIGCHLD must be handled before the first fork, or an early exit goes unnoticed.
    EnsureChildReaper(io);
  }

  std::weak_ptr<Impl> weak() { return weak_from_this(); }

  Status Start() {
    if (state != ReplicaState::kStopped) return Error{"replica " + spec.name + " already started"};
    ResetForRun();
    Status st = SpawnOnce();
    if (!st) {
      cgroup.Remove();
      return st;
    }
    return Ok();
  }

  Status Adopt(const ProcessIdentity& id) {
    if (state != ReplicaState::kStopped) return Error{"replica " + spec.name + " already started"};
    // The pidfd first: it pins the process, so the checks below are about the very process that
    // will be watched, and a pid that is reused after them cannot be mistaken for it.
    Result<std::unique_ptr<ProcessExitWatch>> watch = ProcessExitWatch::Open(io, id.pid);
    if (!watch) return Error{"adopt " + spec.name + ": " + watch.error().message};
    if (Status st = VerifyIdentity(id); !st) {
      return Error{"adopt " + spec.name + ": " + st.error().message};
    }
    // Create() reuses the groups the earlier daemon made (the process is still in them).
    ResetForRun();
    exit_watch = std::move(*watch);
    pid_t child = id.pid;
    std::uint64_t this_run = Running(child, id);
    exit_watch->AsyncWait([w = weak(), child, this_run] {
      if (auto self = w.lock()) self->OnAdoptedExit(child, this_run);
    });
    // Its output keeps going through the relay the earlier daemon started for it.
    return Ok();
  }

  // What Start() and Adopt() share: fresh back-off and the replica's cgroups.
  void ResetForRun() {
    stopping = false;
    restart_reason.clear();
    restarts = 0;
    next_delay = backoff.initial;
    cgroup_timer.cancel();
    limits = LimitsReport{};
    cgroup = ReplicaCgroup::Create(spec.cgroup_name.empty() ? spec.name : spec.cgroup_name,
                                   spec.limits, &limits);
    if (!limits.note.empty()) {
      kLog.Warn("replica limits not fully applied",
                {{"replica", spec.name}, {"note", limits.note}});
    }
  }

  // Starts the run's log relay (reaped through the ChildReaper) and returns the replica's
  // stdout and stderr: the relay's pipes, or /dev/null when there is no log or no relay.
  Result<std::pair<int, int>> StartRelay() {
    if (!spec.log_path.empty()) {
      LogRelayOptions o;
      o.labels = spec.log_labels;
      o.path = spec.log_path;
      o.max_bytes = spec.log_max_bytes;
      Result<LogRelayProcess> relay = SpawnLogRelay(o);
      if (relay) {
        pid_t relay_child = relay->pid;
        WatchChild(io, relay_child, [w = weak(), relay_child](int status) {
          if (auto self = w.lock()) self->OnRelayExit(relay_child, status);
        });
        next_relay_pid = relay_child;
        return std::pair{relay->stdout_fd, relay->stderr_fd};
      }
      // A broken log set-up must not keep replicas down.
      kLog.Warn("cannot start the log relay; the replica's output is discarded",
                {{"replica", spec.name}, {"error", relay.error().message}});
    }
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Error{std::string("open /dev/null: ") + strerror(errno)};
    return std::pair{fd, fd};
  }

  // Spawns, registers the pid with the reaper and queues OnReplicaStarted ahead of any exit.
  Status SpawnOnce() {
    LaunchSpec launch = spec;
    const std::string token = NewReplicaToken();
    launch.env[kReplicaTokenEnv] = token;
    ReapGuard guard;
    next_relay_pid = 0;
    Result<std::pair<int, int>> out = StartRelay();
    if (!out) return out.error();
    Result<SpawnedProcess> p = SpawnProcess(launch, &cgroup.paths(), out->first, out->second);
    close(out->first);
    if (out->second != out->first) close(out->second);
    // On failure the relay sees EOF at once and exits.
    if (!p) return p.error();
    relay_pid = next_relay_pid;
    pid_t child = p->pid;
    // Read under the guard: even a child that exited at once is still there, a zombie.
    ProcessIdentity id;
    if (Result<ProcessIdentity> read = ReadIdentity(child)) {
      id = *read;
      id.token = token;
    } else {
      kLog.Warn("replica identity unknown; it cannot be adopted after a daemon restart",
                {{"replica", spec.name}, {"error", read.error().message}});
    }
    std::uint64_t this_run = Running(child, id);
    WatchChild(io, child, [w = weak(), child, this_run](int status) {
      if (auto self = w.lock()) self->OnExit(child, this_run, status);
    });
    return Ok();
  }

  // Records a process that now runs (spawned or adopted) and posts OnReplicaStarted. Returns
  // the run's number, which its exit callback must match.
  std::uint64_t Running(pid_t child, const ProcessIdentity& id) {
    pid = pgid = child;
    identity.reset();
    if (id.pid == child) identity = id;
    state = ReplicaState::kRunning;
    started_at = Clock::now();
    oom_kills_at_start = cgroup.OomKills();
    asio::post(io, [w = weak(), child] {
      if (auto self = w.lock(); self && !self->dead) self->observer->OnReplicaStarted(child);
    });
    return ++run;
  }

  // A relay that ends on its own (exit 0) saw the replica's output end. One that was killed or
  // failed leaves the replica writing into a pipe nobody reads (SIGPIPE or EPIPE at its next
  // line): it is restarted, with a new relay, rather than run on with its output lost.
  void OnRelayExit(pid_t relay, int status) {
    const bool current = relay == relay_pid;
    if (current) relay_pid = 0;
    if (dead || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) return;
    kLog.Warn("log relay exited", {{"replica", spec.name},
                                   {"app", spec.log_labels.app},
                                   {"release", spec.log_labels.release},
                                   {"relay_pid", relay},
                                   {"how", DescribeExit(status)}});
    if (current && pid != 0 && !stopping) Restart("its log relay " + DescribeExit(status));
  }

  void OnExit(pid_t child, std::uint64_t exited_run, int status) {
    if (dead || exited_run != run || child != pid) return;
    Exited(child, DescribeExit(status), status);
  }

  // An adopted process cannot be reaped by us; its status is read from its zombie if possible.
  void OnAdoptedExit(pid_t child, std::uint64_t exited_run) {
    if (dead || exited_run != run || child != pid) return;
    std::optional<int> status = identity ? ZombieExitStatus(*identity) : std::nullopt;
    exit_watch.reset();
    Exited(child,
           status ? DescribeExit(*status) + " (adopted process)"
                  : std::string("exited (adopted process; status unknown)"),
           status);
  }

  void Exited(pid_t child, std::string description, std::optional<int> status) {
    pid = 0;
    identity.reset();
    kill_timer.cancel();
    kill(-pgid, SIGKILL);  // the leader is gone: nothing it started may stay behind
    bool maybe_oom = !status || (WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
    if (maybe_oom && cgroup.OomKills() > oom_kills_at_start) description += " (out of memory)";
    if (stopping) {
      state = ReplicaState::kStopping;
      observer->OnReplicaExited(child, description, false, Millis{0});
      AwaitGroupGone();  // then on_stopped
      return;
    }
    if (!restart_reason.empty()) {
      description += " (restart: " + restart_reason + ")";
      restart_reason.clear();
    }
    ScheduleRestart(child, description, Clock::now() - started_at);
  }

  void ScheduleRestart(pid_t child, const std::string& description, Clock::duration ran) {
    if (ran >= backoff.reset_after) next_delay = backoff.initial;
    Millis delay = next_delay;
    next_delay = std::min(next_delay * 2, backoff.max);
    state = ReplicaState::kBackingOff;
    restart_timer.expires_after(delay);
    restart_timer.async_wait([w = weak()](boost::system::error_code ec) {
      if (auto self = w.lock(); self && !ec) self->Respawn();
    });
    observer->OnReplicaExited(child, description, true, delay);
  }

  void Respawn() {
    if (dead || stopping || state != ReplicaState::kBackingOff) return;
    ++restarts;
    state = ReplicaState::kStarting;
    if (Result<Credentials> cred = ResolveCredentials(spec); !cred) {
      // Retrying cannot fix a missing user or a refused root.
      state = ReplicaState::kStopped;
      ReleaseCgroup(0);
      observer->OnReplicaExited(0, cred.error().message, false, Millis{0});
      return;
    }
    if (Status st = SpawnOnce(); !st) {
      // E.g. the binary is being replaced: a failed exec backs off like an exit.
      ScheduleRestart(0, st.error().message, Clock::duration::zero());
    }
  }

  void Restart(const std::string& reason) {
    if (dead || stopping || pid == 0 || !restart_reason.empty()) return;
    restart_reason = reason.empty() ? "requested" : reason;
    TerminateGroup();
  }

  void Stop(std::function<void()> on_stopped) {
    if (on_stopped) stop_callbacks.push_back(std::move(on_stopped));
    if (dead) return;
    restart_timer.cancel();
    if (stopping) return;  // already on its way; the callback is queued
    stopping = true;
    state = ReplicaState::kStopping;
    if (pid != 0) {
      TerminateGroup();
    } else {
      AwaitGroupGone();
    }
  }

  // Stop signal to the whole group now, SIGKILL after the grace period.
  void TerminateGroup() {
    kill(-pgid, spec.stop_signal);
    kill_timer.expires_after(spec.grace_period);
    kill_timer.async_wait([w = weak()](boost::system::error_code ec) {
      if (auto self = w.lock(); self && !ec && self->pid != 0) kill(-self->pgid, SIGKILL);
    });
  }

  // Finishes a stop once no process of the group is left, except zombies of other parents (an
  // adopted group's belong to init, which may reap them late or never).
  void AwaitGroupGone() {
    if (dead) return;
    if (GroupHasMembersLeft(pgid)) {
      kill(-pgid, SIGKILL);
      {
        // Members re-parented to us (subreaper) are reaped here rather than wait for SIGCHLD.
        ReapGuard guard;
        int status;
        while (waitpid(-pgid, &status, WNOHANG) > 0) {
        }
      }
      if (GroupHasMembersLeft(pgid)) {
        poll_timer.expires_after(kGroupPoll);
        poll_timer.async_wait([w = weak()](boost::system::error_code ec) {
          if (auto self = w.lock(); self && !ec) self->AwaitGroupGone();
        });
        return;
      }
    }
    pgid = 0;
    stopping = false;
    state = ReplicaState::kStopped;
    kill_timer.cancel();
    ReleaseCgroup(0);
    auto callbacks = std::move(stop_callbacks);
    stop_callbacks.clear();
    for (auto& cb : callbacks) cb();
  }

  // rmdir fails with EBUSY while the kernel still accounts exiting tasks: retry briefly.
  void ReleaseCgroup(int attempt) {
    if (cgroup.Remove() || attempt >= kCgroupAttempts) return;
    cgroup_timer.expires_after(kCgroupRetry);
    cgroup_timer.async_wait([w = weak(), attempt](boost::system::error_code ec) {
      if (auto self = w.lock(); self && !ec) self->ReleaseCgroup(attempt + 1);
    });
  }

  // Synchronous teardown for the destructor: SIGKILL, reap what is ours, no cgroups left.
  void Shutdown() {
    dead = true;
    restart_timer.cancel();
    kill_timer.cancel();
    poll_timer.cancel();
    cgroup_timer.cancel();
    int status;
    if (pid != 0) {
      if (exit_watch) {
        // Adopted: not our child, so it cannot be waited for; its pidfd tells when it died.
        kill(-pgid, SIGKILL);
        exit_watch->WaitFor(kUnreapableKillWait);
        exit_watch.reset();
      } else {
        UnwatchChild(pid);
        kill(-pgid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
      }
      pid = 0;
    }
    if (pgid > 0) {
      kill(-pgid, SIGKILL);
      // Our children left in the group (re-parented orphans); the leader was reaped above, so
      // all of them have been re-parented by now.
      while (waitpid(-pgid, &status, 0) > 0 || errno == EINTR) {
      }
      // Members that are not our children (an adopted group, or a daemon that is no subreaper).
      auto deadline = Clock::now() + kUnreapableKillWait;
      while (GroupHasMembersLeft(pgid) && Clock::now() < deadline) {
        std::this_thread::sleep_for(Millis{5});
      }
      pgid = 0;
    }
    for (int i = 0; i < kCgroupAttempts && !cgroup.Remove(); ++i) {
      std::this_thread::sleep_for(Millis{5});
    }
    ReapRelay();
  }

  // The relay ends at EOF, once the group is gone; one that does not (a replica's process that
  // left the group still holds the pipe) is killed after kUnreapableKillWait.
  void ReapRelay() {
    if (relay_pid == 0) return;
    UnwatchChild(relay_pid);
    auto deadline = Clock::now() + kUnreapableKillWait;
    int status;
    for (;;) {
      pid_t r = waitpid(relay_pid, &status, WNOHANG);
      if (r != 0 && !(r < 0 && errno == EINTR)) break;  // reaped, or not ours any more
      if (Clock::now() >= deadline) {
        kill(relay_pid, SIGKILL);
        while (waitpid(relay_pid, &status, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      std::this_thread::sleep_for(Millis{2});
    }
    relay_pid = 0;
  }

  asio::io_context& io;
  const LaunchSpec spec;
  ReplicaObserver* const observer;
  const BackoffPolicy backoff;

  ReplicaState state = ReplicaState::kStopped;
  pid_t pid = 0;   // running leader, 0 if none
  pid_t pgid = 0;  // the last leader's group until it is known to be empty
  // Of `pid`, when it could be read.
  std::optional<ProcessIdentity> identity;
  // Counts spawns and adoptions, so that a stale exit callback is told apart.
  std::uint64_t run = 0;
  // Set while an adopted process runs: its exit comes through a pidfd, not the ChildReaper.
  std::unique_ptr<ProcessExitWatch> exit_watch;
  Clock::time_point started_at;
  int restarts = 0;
  Millis next_delay;
  bool stopping = false;
  bool dead = false;           // destructor ran: no more callbacks
  std::string restart_reason;  // non-empty while a Restart() kill is in progress
  std::vector<std::function<void()>> stop_callbacks;
  LimitsReport limits;
  ReplicaCgroup cgroup;
  std::uint64_t oom_kills_at_start = 0;
  asio::steady_timer restart_timer;
  asio::steady_timer kill_timer;
  asio::steady_timer poll_timer;
  asio::steady_timer cgroup_timer;
  pid_t relay_pid = 0;       // the running process's log relay, 0 if none (or adopted)
  pid_t next_relay_pid = 0;  // started by SpawnOnce, until its replica is spawned
};

ProcessReplica::ProcessReplica(asio::io_context& io, LaunchSpec spec, ReplicaObserver* observer,
                               BackoffPolicy backoff)
    : impl_(std::make_shared<Impl>(io, std::move(spec), observer, backoff)) {}

ProcessReplica::~ProcessReplica() { impl_->Shutdown(); }

Status ProcessReplica::Start() { return impl_->Start(); }
Status ProcessReplica::Adopt(const ProcessIdentity& identity) { return impl_->Adopt(identity); }
void ProcessReplica::Restart(const std::string& reason) { impl_->Restart(reason); }
void ProcessReplica::Stop(std::function<void()> on_stopped) { impl_->Stop(std::move(on_stopped)); }
void ProcessReplica::RunExec(std::vector<std::string> argv, Millis timeout,
                             std::function<void(ExecOutcome)> done) {
  RunProcessExec(impl_->io, impl_->spec, &impl_->cgroup.paths(), std::move(argv), timeout,
                 std::move(done));
}
int ProcessReplica::pid() const { return impl_->pid; }
std::optional<ProcessIdentity> ProcessReplica::identity() const { return impl_->identity; }
ReplicaState ProcessReplica::state() const { return impl_->state; }
int ProcessReplica::restarts() const { return impl_->restarts; }
const LimitsReport& ProcessReplica::limits() const { return impl_->limits; }
const LaunchSpec& ProcessReplica::spec() const { return impl_->spec; }

}  // namespace slipway::runtime
