// ProcessReplica: one supervised replica process. Starts it (own process group, dropped
// privileges, PR_SET_NO_NEW_PRIVS, rlimits, cgroup limits, output through a log relay process
// of its own into its log file: runtime/log_relay.h), restarts it with capped exponential
// back-off when it exits on its own (or when its relay dies under it, which would leave its
// output nowhere to go), and stops it gracefully (stop signal to the group, SIGKILL after the
// grace period). A replica and its relay do not die with the daemon: a restarted daemon takes
// the replica over with Adopt() and supervises it as if it had spawned it. Lives on one io_context
// thread; every method and callback runs there. Destroying a running replica SIGKILLs its process
// group (a graceful daemon stop calls Stop() first).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "runtime/launch_spec.h"
#include "runtime/process_identity.h"

namespace boost::asio {
class io_context;
}

namespace slipway::runtime {

enum class ReplicaState {
  kStarting,    // spawned (or waiting out a back-off to be respawned)
  kRunning,     // process alive (spawned or adopted)
  kBackingOff,  // exited; will be restarted after a delay
  kStopping,    // Stop() called, waiting for exit
  kStopped,     // exited and will not be restarted
};
const char* ReplicaStateName(ReplicaState s);

// Callbacks from a replica; all run on the replica's io_context.
class ReplicaObserver {
 public:
  virtual ~ReplicaObserver() = default;
  // A (re)spawn or an Adopt() succeeded: the process with `pid` is running.
  virtual void OnReplicaStarted(int pid) = 0;
  // The process exited. `will_restart` is false after Stop() or when the spawn itself failed
  // permanently (bad user, missing binary); `description` says how it exited ("exit 1",
  // "killed by SIGKILL", "exec failed: ..."; for an adopted process, which cannot be reaped,
  // "exit 1 (adopted process)" when its zombie could still be read, else "exited (adopted
  // process; status unknown)").
  virtual void OnReplicaExited(int pid, const std::string& description, bool will_restart,
                               Millis restart_in) = 0;
};

struct BackoffPolicy {
  Millis initial{250};         // first restart delay
  Millis max{15'000};          // cap
  Millis reset_after{30'000};  // a run this long resets the delay to `initial`
};

class ProcessReplica {
 public:
  // `observer` must outlive this replica.
  ProcessReplica(boost::asio::io_context& io, LaunchSpec spec, ReplicaObserver* observer,
                 BackoffPolicy backoff = {});
  ~ProcessReplica();
  ProcessReplica(const ProcessReplica&) = delete;
  ProcessReplica& operator=(const ProcessReplica&) = delete;

  // Spawns the process. An error (user missing, root refused, exec failure reported by the
  // child, cgroup failure) means nothing is running and no restart is scheduled.
  Status Start();
  // Instead of Start(): takes over a running replica that an earlier daemon spawned with this
  // spec (same name and log). Checks that `identity` still describes a live process
  // (VerifyIdentity), watches it through a pidfd (it is not our child) and re-attaches the
  // cgroups named after spec().name; its output keeps going through the relay it already has. From
  // then on it is supervised as if spawned: OnReplicaStarted(pid) follows; its exit is reported and
  // restarted through the back-off with a normal spawn; Stop(), Restart() and the destructor act on
  // its process group. An error means nothing was taken over and the process was not signalled.
  Status Adopt(const ProcessIdentity& identity);
  // Kills the process group (stop signal, then SIGKILL after the grace period) and starts it
  // again through the back-off. Used when liveness fails.
  void Restart(const std::string& reason);
  // Graceful stop without restart; `on_stopped` runs once the whole process group is gone
  // (immediately if nothing runs).
  void Stop(std::function<void()> on_stopped);

  int pid() const;  // 0 when not running
  // Who the running process is, to be stored so that a later daemon can Adopt() it; nullopt
  // when nothing runs.
  std::optional<ProcessIdentity> identity() const;
  ReplicaState state() const;
  int restarts() const;  // restarts since Start() or Adopt()
  const LimitsReport& limits() const;
  const LaunchSpec& spec() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace slipway::runtime
