// ProcessReplica: one supervised replica process. Starts it (own process group, dropped
// privileges, PR_SET_NO_NEW_PRIVS, rlimits, cgroup limits, captured output), restarts it with
// capped exponential back-off when it exits on its own, and stops it gracefully (stop signal to
// the group, SIGKILL after the grace period). Lives on one io_context thread; every method and
// callback runs there. Destroying a running replica SIGKILLs its process group.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "runtime/launch_spec.h"

namespace boost::asio {
class io_context;
}

namespace slipway::runtime {

enum class ReplicaState {
  kStarting,    // spawned (or waiting out a back-off to be respawned)
  kRunning,     // process alive
  kBackingOff,  // exited; will be restarted after a delay
  kStopping,    // Stop() called, waiting for exit
  kStopped,     // exited and will not be restarted
};
const char* ReplicaStateName(ReplicaState s);

// Callbacks from a replica; all run on the replica's io_context.
class ReplicaObserver {
 public:
  virtual ~ReplicaObserver() = default;
  // A (re)spawn succeeded: the process with `pid` is running.
  virtual void OnReplicaStarted(int pid) = 0;
  // The process exited. `will_restart` is false after Stop() or when the spawn itself failed
  // permanently (bad user, missing binary); `description` says how it exited ("exit 1",
  // "killed by SIGKILL", "exec failed: ...").
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
  // Kills the process group (stop signal, then SIGKILL after the grace period) and starts it
  // again through the back-off. Used when liveness fails.
  void Restart(const std::string& reason);
  // Graceful stop without restart; `on_stopped` runs once the whole process group is gone
  // (immediately if nothing runs).
  void Stop(std::function<void()> on_stopped);

  int pid() const;  // 0 when not running
  ReplicaState state() const;
  int restarts() const;  // restarts since Start()
  const LimitsReport& limits() const;
  const LaunchSpec& spec() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace slipway::runtime
