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
#include "runtime/replica.h"

namespace boost::asio {
class io_context;
}

namespace slipway::runtime {

class ProcessReplica : public Replica {
 public:
  // `observer` must outlive this replica.
  ProcessReplica(boost::asio::io_context& io, LaunchSpec spec, ReplicaObserver* observer,
                 BackoffPolicy backoff = {});
  ~ProcessReplica() override;
  ProcessReplica(const ProcessReplica&) = delete;
  ProcessReplica& operator=(const ProcessReplica&) = delete;

  // Spawns the process. An error (user missing, root refused, exec failure reported by the
  // child, cgroup failure) means nothing is running and no restart is scheduled.
  Status Start() override;
  // Instead of Start(): takes over a running replica that an earlier daemon spawned with this
  // spec (same name and log). Checks that `identity` still describes a live process
  // (VerifyIdentity), watches it through a pidfd (it is not our child) and re-attaches the
  // cgroups named after spec().name; its output keeps going through the relay it already has. From
  // then on it is supervised as if spawned: OnReplicaStarted(pid) follows; its exit is reported and
  // restarted through the back-off with a normal spawn; Stop(), Restart() and the destructor act on
  // its process group. An error means nothing was taken over and the process was not signalled.
  Status Adopt(const ProcessIdentity& identity) override;
  // Kills the process group (stop signal, then SIGKILL after the grace period) and starts it
  // again through the back-off. Used when liveness fails.
  void Restart(const std::string& reason) override;
  // Graceful stop without restart; `on_stopped` runs once the whole process group is gone
  // (immediately if nothing runs).
  void Stop(std::function<void()> on_stopped) override;
  // Spawned like the replica (user, env, workdir, rlimits) into its cgroups: RunProcessExec.
  void RunExec(std::vector<std::string> argv, Millis timeout,
               std::function<void(ExecOutcome)> done) override;

  int pid() const override;  // 0 when not running
  // Who the running process is, to be stored so that a later daemon can Adopt() it; nullopt
  // when nothing runs.
  std::optional<ProcessIdentity> identity() const override;
  ReplicaState state() const override;
  int restarts() const override;  // restarts since Start() or Adopt()
  const LimitsReport& limits() const override;
  const LaunchSpec& spec() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace slipway::runtime
