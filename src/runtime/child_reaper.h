// Process-wide child reaping. Each io_context that supervises children gets one reaper (an Asio
// service, created on first use and gone with the io_context) that listens for SIGCHLD and reaps
// with waitpid(-1, WNOHANG). An exit of a watched pid is delivered to the io_context that
// watched it; unknown pids (orphans re-parented to the daemon as subreaper) are just reaped.
// So every child of the process is reaped here: other modules that fork must WatchChild too.
// Adopted replicas (spawned by an earlier daemon) are never watched here: they are not our
// children and their exits come through a pidfd (ProcessExitWatch). One that was re-parented to
// the daemon as subreaper is reaped here like any unknown pid; its pidfd still reports the exit.
#pragma once

#include <sys/types.h>

#include <functional>

namespace boost::asio {
class io_context;
}

namespace slipway::runtime {

// Holds off all reapers while alive (recursive; any thread). Fork and WatchChild under one guard,
// so a reaper on another thread cannot reap the child before it is watched.
class ReapGuard {
 public:
  ReapGuard();
  ~ReapGuard();
  ReapGuard(const ReapGuard&) = delete;
  ReapGuard& operator=(const ReapGuard&) = delete;
};

// Starts the reaper on `io` if it has none yet. Call before forking (WatchChild does too).
void EnsureChildReaper(boost::asio::io_context& io);

// `on_exit(wait_status)` runs on `io` once `pid` is reaped; at most once. Also schedules a reap
// pass on `io`, so an exit that happened before this call is not missed.
void WatchChild(boost::asio::io_context& io, pid_t pid, std::function<void(int)> on_exit);

// Forgets `pid`: its exit is reaped silently (or by the caller's own waitpid). Thread-safe.
void UnwatchChild(pid_t pid);

}  // namespace slipway::runtime
