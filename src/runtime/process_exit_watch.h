// ProcessExitWatch: learns when a process that is not our child exits (an adopted replica:
// waitpid cannot wait for it). Holds a pidfd, which names one process for good, so a reused pid
// cannot be mistaken for it; the pidfd turns readable once the process has exited, zombie or
// reaped by whoever its parent is. The exit status is not available through it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "common/result.h"

namespace boost::asio {
class io_context;
}

namespace slipway::runtime {

class ProcessExitWatch {
 public:
  // Opens a pidfd for `pid`. "pid N is not running" when it has gone (ESRCH). `io` must outlive
  // the watch.
  static Result<std::unique_ptr<ProcessExitWatch>> Open(boost::asio::io_context& io, int pid);
  // Cancels the wait: `on_exit` will not run.
  ~ProcessExitWatch();
  ProcessExitWatch(const ProcessExitWatch&) = delete;
  ProcessExitWatch& operator=(const ProcessExitWatch&) = delete;

  // Runs `on_exit` on the io_context once the process has exited (at once if it already has).
  // Call at most once.
  void AsyncWait(std::function<void()> on_exit);
  // True once the process has exited. Does not block.
  bool Exited() const;
  // Blocks up to `timeout` for the exit (for synchronous teardown); returns Exited().
  bool WaitFor(std::chrono::milliseconds timeout) const;
  int pid() const;

 private:
  struct Impl;
  explicit ProcessExitWatch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slipway::runtime
