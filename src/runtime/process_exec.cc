#include "runtime/process_exec.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "runtime/child_reaper.h"
#include "runtime/spawn.h"

namespace slipway::runtime {
namespace {

namespace asio = boost::asio;

// The state of one run: shared by the reaper callback, the output reads and the deadline.
struct ExecRun : std::enable_shared_from_this<ExecRun> {
  ExecRun(asio::io_context& io, int read_fd) : output(io, read_fd), deadline(io) {}

  void ReadMore() {
    output.async_read_some(asio::buffer(chunk), [self = shared_from_this()](
                                                    boost::system::error_code ec, std::size_t n) {
      if (ec) return;  // EOF, or closed when the run finished
      self->Keep(n);
      self->ReadMore();
    });
  }

  void Keep(std::size_t n) {
    std::size_t room = kExecOutputKept - std::min(kExecOutputKept, outcome.output.size());
    outcome.output.append(chunk.data(), std::min(n, room));
  }

  void OnExit(int status) {
    deadline.cancel();
    // What it wrote before exiting is in the pipe: read it now, without waiting for an EOF that
    // a background child holding the pipe would delay.
    int fd = output.native_handle();
    for (int i = 0; i < 64; ++i) {
      ssize_t n = read(fd, chunk.data(), chunk.size());
      if (n <= 0) break;
      Keep(static_cast<std::size_t>(n));
    }
    boost::system::error_code ignored;
    output.close(ignored);
    if (WIFEXITED(status)) {
      outcome.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      outcome.signal = WTERMSIG(status);
    }
    if (killed) {
      outcome.timed_out = true;
      outcome.exit_code.reset();
      outcome.signal.reset();
    }
    auto finish = std::move(done);
    done = nullptr;
    if (finish) finish(std::move(outcome));
  }

  asio::posix::stream_descriptor output;
  asio::steady_timer deadline;
  std::array<char, 1024> chunk{};
  ExecOutcome outcome;
  bool killed = false;
  std::function<void(ExecOutcome)> done;
};

// `name` itself when it holds a '/', else the first executable PATH entry, else "".
std::string FindProgram(const std::string& name, const std::map<std::string, std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  auto path = env.find("PATH");
  std::string dirs = path == env.end() ? "/usr/local/bin:/usr/bin:/bin" : path->second;
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

void Fail(asio::io_context& io, std::function<void(ExecOutcome)> done, std::string error) {
  ExecOutcome outcome;
  outcome.error = std::move(error);
  asio::post(io, [done = std::move(done), outcome = std::move(outcome)]() mutable {
    done(std::move(outcome));
  });
}

}  // namespace

void RunProcessExec(asio::io_context& io, const LaunchSpec& replica, const CgroupPaths* cgroups,
                    std::vector<std::string> argv, Millis timeout,
                    std::function<void(ExecOutcome)> done) {
  if (argv.empty()) return Fail(io, std::move(done), "no command to run");
  LaunchSpec launch = replica;
  launch.command = FindProgram(argv[0], replica.env);
  if (launch.command.empty()) {
    return Fail(io, std::move(done), "exec " + argv[0] + ": not found in PATH");
  }
  launch.args.assign(argv.begin() + 1, argv.end());
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return Fail(io, std::move(done), std::string("pipe: ") + strerror(errno));
  }
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  EnsureChildReaper(io);
  auto run = std::make_shared<ExecRun>(io, fds[0]);
  run->done = std::move(done);
  ReapGuard guard;
  Result<SpawnedProcess> p = SpawnProcess(launch, cgroups, fds[1]);
  close(fds[1]);
  if (!p) {
    boost::system::error_code ignored;
    run->output.close(ignored);
    return Fail(io, std::move(run->done), p.error().message);
  }
  const pid_t pid = p->pid;
  WatchChild(io, pid, [run](int status) { run->OnExit(status); });
  run->ReadMore();
  run->deadline.expires_after(timeout);
  run->deadline.async_wait([run, pid](boost::system::error_code ec) {
    if (ec || !run->done) return;
    run->killed = true;
    kill(-pid, SIGKILL);  // its own process group: the command and what it started
  });
}

}  // namespace slipway::runtime
