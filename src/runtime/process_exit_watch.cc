#include "runtime/process_exit_watch.h"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>
#include <string>

namespace slipway::runtime {

namespace asio = boost::asio;

struct ProcessExitWatch::Impl {
  Impl(asio::io_context& io, int pid_in, int pidfd) : pid(pid_in), fd(io, pidfd) {}
  int pid;
  asio::posix::stream_descriptor fd;  // owns the pidfd
};

ProcessExitWatch::ProcessExitWatch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ProcessExitWatch::~ProcessExitWatch() = default;  // closing the descriptor aborts the wait

Result<std::unique_ptr<ProcessExitWatch>> ProcessExitWatch::Open(asio::io_context& io, int pid) {
  // Close-on-exec by definition, so it does not leak into spawned replicas.
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    if (errno == ESRCH) return Error{"pid " + std::to_string(pid) + " is not running"};
    return Error{"pidfd_open " + std::to_string(pid) + ": " + std::strerror(errno)};
  }
  return std::unique_ptr<ProcessExitWatch>(
      new ProcessExitWatch(std::make_unique<Impl>(io, pid, fd)));
}

void ProcessExitWatch::AsyncWait(std::function<void()> on_exit) {
  // The handler owns the callback and never touches the watch: after the watch is destroyed it
  // still runs once, with operation_aborted, and returns.
  impl_->fd.async_wait(asio::posix::stream_descriptor::wait_read,
                       [cb = std::move(on_exit)](boost::system::error_code ec) {
                         if (!ec) cb();
                       });
}

bool ProcessExitWatch::Exited() const { return WaitFor(std::chrono::milliseconds(0)); }

bool ProcessExitWatch::WaitFor(std::chrono::milliseconds timeout) const {
  pollfd p{impl_->fd.native_handle(), POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    int n = poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

int ProcessExitWatch::pid() const { return impl_->pid; }

}  // namespace slipway::runtime
