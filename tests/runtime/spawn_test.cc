#include "runtime/spawn.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "runtime/proc_stat.h"
#include "runtime/subreaper.h"
#include "test_support.h"

namespace slipway::runtime {
namespace {

using testing::ReadFile;
using testing::TempDir;

LaunchSpec Spec(std::string command, std::vector<std::string> args) {
  LaunchSpec s;
  s.name = testing::UniqueName("spawn");
  s.command = std::move(command);
  s.args = std::move(args);
  return s;
}

int WaitExit(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

class SpawnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_path_ = dir_.path() + "/out.log";
    out_ = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ASSERT_GE(out_, 0);
  }
  void TearDown() override { close(out_); }
  TempDir dir_;
  std::string out_path_;
  int out_ = -1;
};

TEST_F(SpawnTest, RunsAsNobodyInOwnGroupWithExactEnvAndLimits) {
  LaunchSpec s = Spec("/bin/sleep", {"30"});
  s.env = {{"PORT", "4321"}, {"FOO", "bar"}};
  s.limits.open_files = 777;
  Result<SpawnedProcess> p = SpawnProcess(s, nullptr, out_);
  ASSERT_TRUE(p) << p.error().message;
  std::string proc = "/proc/" + std::to_string(p->pid);
  std::string status = ReadFile(proc + "/status");
  EXPECT_NE(status.find("Uid:\t65534\t65534\t65534\t65534"), std::string::npos) << status;
  EXPECT_NE(status.find("Gid:\t65534\t65534\t65534\t65534"), std::string::npos) << status;
  EXPECT_NE(status.find("Groups:\t65534"), std::string::npos) << status;
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << status;
  EXPECT_EQ(getpgid(p->pid), p->pid);
  // SpawnProcess returns when close-on-exec fired; the new image sets up its stack just after.
  EXPECT_TRUE(testing::Eventually([&] { return !ReadFile(proc + "/environ").empty(); }));
  std::string environ = ReadFile(proc + "/environ");
  EXPECT_EQ(environ, std::string("FOO=bar\0PORT=4321\0", 18));
  std::string limits = ReadFile(proc + "/limits");
  EXPECT_NE(limits.find("Max open files            777                  777"), std::string::npos)
      << limits;
  EXPECT_NE(limits.find("Max core file size        0                    0"), std::string::npos);
  // Only stdio is open in the child. Polled: the dynamic loader briefly holds fd 3 after exec.
  auto open_fds = [&] {
    std::vector<std::string> fds;
    for (const auto& e : std::filesystem::directory_iterator(proc + "/fd")) {
      fds.push_back(e.path().filename());
    }
    std::sort(fds.begin(), fds.end());
    return fds;
  };
  EXPECT_TRUE(testing::Eventually([&] { return open_fds().size() == 3; }));
  EXPECT_EQ(open_fds(), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(std::filesystem::read_symlink(proc + "/fd/0"), "/dev/null");
  kill(p->pid, SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(WaitExit(p->pid)));
}

TEST_F(SpawnTest, CapturesStdoutAndStderrWithStdinEmpty) {
  LaunchSpec s = Spec("/bin/sh", {"-c", "echo out; echo err >&2; read x; echo read=$?; pwd"});
  s.workdir = "/tmp";
  Result<SpawnedProcess> p = SpawnProcess(s, nullptr, out_);
  ASSERT_TRUE(p) << p.error().message;
  int status = WaitExit(p->pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(ReadFile(out_path_), "out\nerr\nread=1\n/tmp\n");
}

TEST_F(SpawnTest, NumericUserAndGroup) {
  LaunchSpec s = Spec("/bin/sh", {"-c", "echo $(id -u):$(id -g)"});
  s.env = {{"PATH", "/usr/bin:/bin"}};
  s.user = "12345";
  s.group = "54321";
  Result<SpawnedProcess> p = SpawnProcess(s, nullptr, out_);
  ASSERT_TRUE(p) << p.error().message;
  WaitExit(p->pid);
  EXPECT_EQ(ReadFile(out_path_), "12345:54321\n");
}

TEST_F(SpawnTest, RefusesRootUnlessAllowed) {
  for (const char* user : {"root", "0"}) {
    LaunchSpec s = Spec("/bin/true", {});
    s.user = user;
    Result<SpawnedProcess> p = SpawnProcess(s, nullptr, out_);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().message, "refusing to run as root: set allow_root: true in the spec");
  }
  LaunchSpec s = Spec("/bin/sh", {"-c", "id -u"});
  s.env = {{"PATH", "/usr/bin:/bin"}};
  s.user = "root";
  s.allow_root = true;
  Result<SpawnedProcess> p = SpawnProcess(s, nullptr, out_);
  ASSERT_TRUE(p) << p.error().message;
  WaitExit(p->pid);
  EXPECT_EQ(ReadFile(out_path_), "0\n");
}

TEST_F(SpawnTest, MissingBinaryNamesPathAndErrno) {
  LaunchSpec s = Spec("/nonexistent/hello", {});
  Result<SpawnedProcess> p = SpawnProcess(s, nullptr, out_);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, "exec /nonexistent/hello as nobody: No such file or directory");
}

TEST_F(SpawnTest, NotExecutableIsPermissionDenied) {
  std::string path = dir_.path() + "/hello";
  std::ofstream(path) << "#!/bin/sh\necho hi\n";
  chmod(path.c_str(), 0644);
  Result<SpawnedProcess> p = SpawnProcess(Spec(path, {}), nullptr, out_);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, "exec " + path + " as nobody: Permission denied");
}

TEST_F(SpawnTest, BadUserGroupWorkdirAndRelativeCommand) {
  LaunchSpec s = Spec("/bin/true", {});
  s.user = "no-such-user-slipway";
  Result<SpawnedProcess> p = SpawnProcess(s, nullptr, out_);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, "user \"no-such-user-slipway\" not found");

  s.user = "nobody";
  s.group = "no-such-group-slipway";
  p = SpawnProcess(s, nullptr, out_);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, "group \"no-such-group-slipway\" not found");

  s.group.reset();
  s.workdir = "/nonexistent-dir";
  p = SpawnProcess(s, nullptr, out_);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, "chdir /nonexistent-dir as nobody: No such file or directory");

  s.workdir = "/";
  s.command = "true";
  p = SpawnProcess(s, nullptr, out_);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("absolute path"), std::string::npos);
}

TEST_F(SpawnTest, OutlivesTheProcessThatSpawnedIt) {
  BecomeSubreaper();  // so the orphan comes to us and can be reaped
  int report[2];
  ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
  LaunchSpec s = Spec("/bin/sleep", {"1000"});
  pid_t spawner = fork();
  if (spawner == 0) {
    Result<SpawnedProcess> p = SpawnProcess(s, nullptr, out_);
    pid_t pid = p ? p->pid : 0;
    ssize_t n = write(report[1], &pid, sizeof pid);
    _exit(n == sizeof pid ? 0 : 1);  // as a daemon dies: without cleaning up
  }
  ASSERT_GT(spawner, 0);
  close(report[1]);
  pid_t pid = 0;
  ASSERT_EQ(read(report[0], &pid, sizeof pid), static_cast<ssize_t>(sizeof pid));
  close(report[0]);
  ASSERT_GT(pid, 0);
  WaitExit(spawner);
  // No parent-death signal: re-parented to us (the subreaper), still running.
  Result<ProcStat> st = ReadProcStat(pid);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->ppid, getpid());
  EXPECT_FALSE(st->dead());
  EXPECT_EQ(kill(pid, 0), 0);
  kill(pid, SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(WaitExit(pid)));
}

}  // namespace
}  // namespace slipway::runtime
