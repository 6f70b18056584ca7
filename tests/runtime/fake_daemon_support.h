// Running runtime_fake_daemon from a test: a daemon that can be SIGKILLed while its replica runs.
// By default it runs under a "keeper", a subreaper standing in for init that reaps nothing until
// the test ends (as this machine's init does), so the orphaned replica is not our child and its
// zombie stays readable. With Orphans::kToUs the test process (a subreaper, like the daemon)
// becomes the replica's new parent instead, and the runtime's ChildReaper reaps it.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/launch_spec.h"
#include "runtime/process_identity.h"

namespace slipway::runtime::testing {

// Waits until `pid` has exited (zombie or reaped), through a pidfd: it need not be our child.
inline bool WaitExited(pid_t pid, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;
  pollfd p{fd, POLLIN, 0};
  int n;
  do {
    n = poll(&p, 1, static_cast<int>(timeout.count()));
  } while (n < 0 && errno == EINTR);
  close(fd);
  return n > 0;
}

enum class Orphans { kToKeeper, kToUs };

class FakeDaemon {
 public:
  // Starts the fake daemon with spec's name, log, log cap, memory limit, command and args, and
  // reads the identity of the replica it spawned. Check ok() before use.
  FakeDaemon(const LaunchSpec& spec, Orphans orphans = Orphans::kToKeeper) {
    std::vector<std::string> args = {
        SLIPWAY_FAKE_DAEMON,
        spec.name,
        spec.log_path,
        std::to_string(spec.log_max_bytes),
        spec.limits.memory_bytes ? std::to_string(*spec.limits.memory_bytes) : "-",
        spec.command};
    args.insert(args.end(), spec.args.begin(), spec.args.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    char* envp[] = {nullptr};
    int out[2];
    int ctl[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(ctl, O_CLOEXEC) != 0) return;
    // After fork only async-signal-safe calls: the argument vectors are built above.
    auto exec_daemon = [&] {
      dup2(out[1], 1);
      execve(argv[0], argv.data(), envp);
      _exit(127);
    };
    if (orphans == Orphans::kToUs) {
      daemon_ = fork();
      if (daemon_ == 0) exec_daemon();
    } else {
      keeper_ = fork();
      if (keeper_ == 0) {
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        close(ctl[1]);
        pid_t d = fork();
        if (d == 0) exec_daemon();
        // Reap the daemon when it is killed, then nothing more until the test closes `ctl`:
        // the orphans' zombies stay, as under a lazy init.
        int st;
        while (waitpid(d, &st, 0) < 0 && errno == EINTR) {
        }
        char c;
        while (read(ctl[0], &c, 1) < 0 && errno == EINTR) {
        }
        while (waitpid(-1, &st, 0) > 0 || errno == EINTR) {
        }
        _exit(0);
      }
    }
    close(out[1]);
    close(ctl[0]);
    keeper_ctl_ = ctl[1];
    std::string text = ReadAll(out[0]);
    close(out[0]);
    std::istringstream in(text);
    in >> daemon_ >> identity_.pid >> identity_.start_time >> identity_.boot_id >> identity_.token;
    if (!in) error_ = "fake daemon printed \"" + text + "\"";
  }

  ~FakeDaemon() {
    KillDaemon();
    // Whatever the test left of the replica; only if it still is that process.
    if (identity_.pid > 0 && VerifyIdentity(identity_)) kill(-identity_.pid, SIGKILL);
    if (keeper_ctl_ >= 0) close(keeper_ctl_);
    if (keeper_ > 0) {
      int st;
      while (waitpid(keeper_, &st, 0) < 0 && errno == EINTR) {
      }
    }
  }

  bool ok() const { return error_.empty() && identity_.pid > 0; }
  const std::string& error() const { return error_; }
  const ProcessIdentity& identity() const { return identity_; }
  pid_t daemon_pid() const { return daemon_; }
  pid_t keeper_pid() const { return keeper_; }

  // kill -9 of the daemon; returns once it is gone.
  bool KillDaemon() {
    if (daemon_ <= 0) return true;
    kill(daemon_, SIGKILL);
    bool gone = WaitExited(daemon_);
    if (keeper_ <= 0) {
      int st;
      waitpid(daemon_, &st, WNOHANG);  // ours; the ChildReaper may have reaped it already
    }
    daemon_ = 0;
    return gone;
  }

 private:
  // Reads until the identity line is complete (or EOF, or 10 s pass).
  static std::string ReadAll(int fd) {
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (text.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
    }
    return text;
  }

  pid_t keeper_ = 0;
  pid_t daemon_ = 0;
  int keeper_ctl_ = -1;
  ProcessIdentity identity_;
  std::string error_;
};

}  // namespace slipway::runtime::testing
