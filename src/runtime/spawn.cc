#include "runtime/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

namespace slipway::runtime {
namespace {

// Steps of the child between fork and exec; reported to the parent on failure.
enum Step : int {
  kStepSetpgid,
  kStepCgroup,
  kStepRlimit,
  kStepStdio,
  kStepCloseFds,
  kStepSetgroups,
  kStepSetgid,
  kStepSetuid,
  kStepVerifyIds,
  kStepChdir,
  kStepNoNewPrivs,
  kStepSignals,
  kStepExec,
};

struct ChildError {
  int step;
  int err;
};

std::optional<unsigned long> ParseNumber(const std::string& s) {
  unsigned long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Child side: only async-signal-safe calls from here to exec; everything is prepared before
// fork (the parent may be multithreaded, and the ASan runtime must not allocate here).
[[noreturn]] void Fail(int report_fd, int step) {
  ChildError e{step, errno};
  ssize_t n = write(report_fd, &e, sizeof e);
  (void)n;
  _exit(127);
}

struct ChildPlan {
  uid_t uid;
  gid_t gid;
  int report_fd;
  int stdout_fd;
  int stderr_fd;
  int devnull_fd;
  const std::vector<int>* cgroup_fds;
  rlimit nofile;
  const char* workdir;
  const char* path;
  char* const* argv;
  char* const* envp;
};

[[noreturn]] void RunChild(const ChildPlan& p) {
  // Own process group, so stop and kill reach everything the replica forks.
  if (setpgid(0, 0) != 0) Fail(p.report_fd, kStepSetpgid);
  for (int fd : *p.cgroup_fds) {
    if (write(fd, "0", 1) != 1) Fail(p.report_fd, kStepCgroup);  // "0": the writing process
  }
  rlimit no_core{0, 0};
  if (setrlimit(RLIMIT_NOFILE, &p.nofile) != 0 || setrlimit(RLIMIT_CORE, &no_core) != 0) {
    Fail(p.report_fd, kStepRlimit);
  }
  if (dup2(p.devnull_fd, 0) < 0 || dup2(p.stdout_fd, 1) < 0 || dup2(p.stderr_fd, 2) < 0) {
    Fail(p.report_fd, kStepStdio);
  }
  // Everything but stdio and the (close-on-exec) report pipe.
  if (p.report_fd > 3 && syscall(SYS_close_range, 3u, p.report_fd - 1u, 0u) != 0) {
    Fail(p.report_fd, kStepCloseFds);
  }
  if (syscall(SYS_close_range, p.report_fd + 1u, ~0u, 0u) != 0) Fail(p.report_fd, kStepCloseFds);
  if (setgroups(1, &p.gid) != 0) Fail(p.report_fd, kStepSetgroups);
  if (setgid(p.gid) != 0) Fail(p.report_fd, kStepSetgid);
  if (setuid(p.uid) != 0) Fail(p.report_fd, kStepSetuid);
  if (getuid() != p.uid || geteuid() != p.uid || getgid() != p.gid || getegid() != p.gid ||
      (p.uid != 0 && setuid(0) == 0)) {
    errno = EPERM;
    Fail(p.report_fd, kStepVerifyIds);
  }
  // No parent-death signal: a replica outlives a crashed daemon, whose successor re-adopts it.
  // After dropping privileges, so the user needs access to its working directory.
  if (chdir(p.workdir) != 0) Fail(p.report_fd, kStepChdir);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail(p.report_fd, kStepNoNewPrivs);
  // The daemon's handlers (Asio's SIGCHLD, SIGTERM) and mask must not leak into the replica.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);  // EINVAL for RT ok
  }
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) Fail(p.report_fd, kStepSignals);
  execve(p.path, p.argv, p.envp);
  Fail(p.report_fd, kStepExec);
}

std::string StepName(int step, const LaunchSpec& spec) {
  switch (step) {
    case kStepSetpgid:
      return "setpgid";
    case kStepCgroup:
      return "join cgroup";
    case kStepRlimit:
      return "setrlimit";
    case kStepStdio:
      return "redirect output";
    case kStepCloseFds:
      return "close_range";
    case kStepSetgroups:
      return "setgroups";
    case kStepSetgid:
      return "setgid";
    case kStepSetuid:
      return "setuid";
    case kStepVerifyIds:
      return "verify dropped privileges";
    case kStepChdir:
      return "chdir " + spec.workdir;
    case kStepNoNewPrivs:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case kStepSignals:
      return "reset signals";
    case kStepExec:
      return "exec " + spec.command;
  }
  return "start";
}

void CloseAll(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace

Result<Credentials> ResolveCredentials(const LaunchSpec& spec) {
  Credentials c;
  c.user = spec.user;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* pwp = nullptr;
  int rc = getpwnam_r(spec.user.c_str(), &pw, buf.data(), buf.size(), &pwp);
  if (pwp != nullptr) {
    c.uid = pw.pw_uid;
    c.gid = pw.pw_gid;
  } else if (auto n = ParseNumber(spec.user)) {
    // A numeric user without a passwd entry: its group defaults to the same number.
    c.uid = static_cast<uid_t>(*n);
    c.gid = static_cast<gid_t>(*n);
    if (getpwuid_r(c.uid, &pw, buf.data(), buf.size(), &pwp) == 0 && pwp != nullptr) {
      c.gid = pw.pw_gid;
    }
  } else {
    return Error{"user \"" + spec.user + "\" not found" +
                 (rc != 0 ? std::string(": ") + std::strerror(rc) : std::string())};
  }
  if (spec.group) {
    group gr{};
    group* grp = nullptr;
    rc = getgrnam_r(spec.group->c_str(), &gr, buf.data(), buf.size(), &grp);
    if (grp != nullptr) {
      c.gid = gr.gr_gid;
    } else if (auto n = ParseNumber(*spec.group)) {
      c.gid = static_cast<gid_t>(*n);
    } else {
      return Error{"group \"" + *spec.group + "\" not found" +
                   (rc != 0 ? std::string(": ") + std::strerror(rc) : std::string())};
    }
  }
  if (c.uid == 0 && !spec.allow_root) {
    return Error{"refusing to run as root: set allow_root: true in the spec"};
  }
  return c;
}

Result<SpawnedProcess> SpawnProcess(const LaunchSpec& spec, const CgroupPaths* cgroups,
                                    int stdout_fd, int stderr_fd) {
  if (spec.command.empty() || spec.command[0] != '/') {
    return Error{"command must be an absolute path, got \"" + spec.command + "\""};
  }
  Result<Credentials> cred = ResolveCredentials(spec);
  if (!cred) return cred.error();

  // Everything the child needs, built before fork.
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string argv0 = spec.command;
  std::vector<std::string> args = spec.args;
  std::vector<char*> argv{argv0.data()};
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<int> cgroup_fds;
  auto close_cgroup_fds = [&] {
    for (int fd : cgroup_fds) close(fd);
  };
  if (cgroups != nullptr) {
    for (const std::string& f : cgroups->procs_files) {
      int fd = open(f.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        close_cgroup_fds();
        return Error{"open " + f + ": " + std::strerror(err)};
      }
      cgroup_fds.push_back(fd);
    }
  }
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int report[2] = {-1, -1};
  if (devnull < 0 || pipe2(report, O_CLOEXEC) != 0) {
    int err = errno;
    CloseAll({devnull, report[0], report[1]});
    close_cgroup_fds();
    return Error{std::string("spawn setup: ") + std::strerror(err)};
  }

  ChildPlan plan{};
  plan.uid = cred->uid;
  plan.gid = cred->gid;
  plan.report_fd = report[1];
  plan.stdout_fd = stdout_fd;
  plan.stderr_fd = stderr_fd;
  plan.devnull_fd = devnull;
  plan.cgroup_fds = &cgroup_fds;
  plan.nofile = {spec.limits.open_files, spec.limits.open_files};
  // limits.processes is enforced by the replica's pids cgroup only: RLIMIT_NPROC counts every
  // process of the user (all replicas running as nobody together), and the kernel checks it at
  // execve, so it would make one app's replicas fail to start because of another's.
  plan.workdir = spec.workdir.c_str();
  plan.path = spec.command.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();

  pid_t pid = fork();
  if (pid == 0) RunChild(plan);
  int fork_err = errno;
  CloseAll({devnull, report[1]});
  close_cgroup_fds();
  if (pid < 0) {
    close(report[0]);
    return Error{std::string("fork: ") + std::strerror(fork_err)};
  }

  // EOF means exec succeeded (the pipe is close-on-exec); a record means a step failed.
  ChildError e{};
  ssize_t n;
  do {
    n = read(report[0], &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == 0) return SpawnedProcess{pid};

  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof e)) {
    return Error{"start " + spec.command + " as " + spec.user + ": child exited during setup"};
  }
  return Error{StepName(e.step, spec) + " as " + spec.user + ": " + std::strerror(e.err)};
}

}  // namespace slipway::runtime
