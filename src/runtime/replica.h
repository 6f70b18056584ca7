// Replica: one supervised replica as the rollout sees it, whatever runs it. Two drivers
// implement it: ProcessReplica (a process on this host) and DockerReplica (a container through
// the Docker Engine API). Both restart an exited replica with the same capped back-off, stop it
// gracefully (stop signal, then a kill after the grace period), and can take over a replica an
// earlier daemon started (Adopt). Every method and callback runs on the replica's io_context.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/exec_outcome.h"
#include "common/result.h"
#include "runtime/launch_spec.h"
#include "runtime/process_identity.h"

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

// What a driver reports to store so that a later daemon can Adopt() the replica. A process
// replica fills every field of ProcessIdentity; a container replica only `pid` (the container's
// main process, informational) and `token` (its `slipway.replica-token` label, the proof).
using ReplicaIdentity = ProcessIdentity;

class Replica {
 public:
  virtual ~Replica() = default;

  // Starts the replica. An error means nothing is running and no restart is scheduled.
  virtual Status Start() = 0;
  // Instead of Start(): takes over the replica an earlier daemon started with the same spec,
  // after checking that `identity` still describes it. An error means nothing was taken over
  // and nothing was signalled.
  virtual Status Adopt(const ReplicaIdentity& identity) = 0;
  // Kills it (stop signal, then a kill after the grace period) and starts it again through the
  // back-off. Used when liveness fails.
  virtual void Restart(const std::string& reason) = 0;
  // Graceful stop without restart; `on_stopped` runs once it is gone (immediately if nothing
  // runs).
  virtual void Stop(std::function<void()> on_stopped) = 0;
  // Runs `argv` where the replica runs (as its user, with its environment; inside its
  // container for Docker), killed after `timeout`: an exec probe. `done` runs once, never from
  // inside this call; when the replica is destroyed first, it may never run.
  virtual void RunExec(std::vector<std::string> argv, Millis timeout,
                       std::function<void(ExecOutcome)> done) = 0;

  virtual int pid() const = 0;  // 0 when not running
  // Who the running replica is, to be stored; nullopt when nothing runs.
  virtual std::optional<ReplicaIdentity> identity() const = 0;
  virtual ReplicaState state() const = 0;
  virtual int restarts() const = 0;  // restarts since Start() or Adopt()
  virtual const LimitsReport& limits() const = 0;
};

}  // namespace slipway::runtime
