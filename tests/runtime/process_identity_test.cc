#include "runtime/process_identity.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "runtime/proc_stat.h"
#include "runtime/spawn.h"
#include "test_support.h"

namespace slipway::runtime {
namespace {

using testing::ReadFile;

// A process like a replica: its own group, the token in its environment.
class ProcessIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    devnull_ = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(devnull_, 0);
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Reap();
    }
    close(devnull_);
  }
  // Spawns `command` (default: sleep) with the token; returns its full identity.
  ProcessIdentity Spawn(const std::string& command = "/bin/sleep") {
    LaunchSpec s;
    s.name = testing::UniqueName("identity");
    s.command = command;
    s.args = {"1000"};
    s.env = {{kReplicaTokenEnv, token_}, {"OTHER", "1"}};
    Result<SpawnedProcess> p = SpawnProcess(s, nullptr, devnull_);
    EXPECT_TRUE(p) << p.error().message;
    if (!p) return {};
    pid_ = p->pid;
    Result<ProcessIdentity> id = ReadIdentity(pid_);
    EXPECT_TRUE(id) << id.error().message;
    if (!id) return {};
    id->token = token_;
    // SpawnProcess returns when close-on-exec fired; the new image's environment follows.
    EXPECT_TRUE(testing::Eventually([&] { return VerifyIdentity(*id).ok(); }));
    return *id;
  }
  void Reap() {
    int status;
    EXPECT_EQ(waitpid(pid_, &status, 0), pid_);
    pid_ = 0;
  }
  std::string Message(const ProcessIdentity& id) {
    Status st = VerifyIdentity(id);
    return st ? "ok" : st.error().message;
  }

  int devnull_ = -1;
  pid_t pid_ = 0;
  std::string token_ = NewReplicaToken();
};

TEST_F(ProcessIdentityTest, TokensAreRandomHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = NewReplicaToken();
    EXPECT_EQ(t.size(), 32u);
    EXPECT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST_F(ProcessIdentityTest, ReadIdentityGivesStartTimeAndBootId) {
  Result<ProcessIdentity> self = ReadIdentity(getpid());
  ASSERT_TRUE(self) << self.error().message;
  EXPECT_EQ(self->pid, getpid());
  EXPECT_EQ(self->start_time, ReadProcStat(getpid())->start_time);
  std::string boot = ReadFile("/proc/sys/kernel/random/boot_id");
  EXPECT_EQ(self->boot_id + "\n", boot);
  EXPECT_EQ(self->token, "");
  Result<ProcessIdentity> none = ReadIdentity(0x3ffffff);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "pid 67108863 is not running");
}

TEST_F(ProcessIdentityTest, VerifiesTheSpawnedProcess) {
  ProcessIdentity id = Spawn();
  EXPECT_EQ(Message(id), "ok");
}

TEST_F(ProcessIdentityTest, CommWithSpacesAndParenthesesParses) {
  testing::TempDir dir;
  std::string odd = dir.path() + "/sl) (ee p";
  ASSERT_EQ(symlink("/bin/sleep", odd.c_str()), 0);
  ProcessIdentity id = Spawn(odd);
  ASSERT_EQ(ReadFile("/proc/" + std::to_string(id.pid) + "/comm"), "sl) (ee p\n");
  Result<ProcStat> st = ReadProcStat(id.pid);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->ppid, getpid());
  EXPECT_EQ(st->pgrp, id.pid);
  EXPECT_EQ(Message(id), "ok");
}

TEST_F(ProcessIdentityTest, EachPartThatDiffersIsNamed) {
  ProcessIdentity id = Spawn();
  const std::string pid = "pid " + std::to_string(id.pid);
  ProcessIdentity wrong = id;
  wrong.token = NewReplicaToken();
  EXPECT_EQ(Message(wrong),
            pid + " does not carry the replica's token: not the process that was spawned");
  wrong.token = token_.substr(0, 31);  // a prefix of the token is not the token
  EXPECT_EQ(Message(wrong),
            pid + " does not carry the replica's token: not the process that was spawned");
  wrong = id;
  wrong.start_time -= 1;
  EXPECT_EQ(Message(wrong),
            pid + " was started at a different time: another process reuses the pid");
  wrong = id;
  wrong.boot_id = "00000000-0000-0000-0000-000000000000";
  EXPECT_EQ(Message(wrong), pid + " was started before a reboot (boot id " + wrong.boot_id +
                                ", now " + id.boot_id + ")");
  wrong = id;
  wrong.token.clear();
  EXPECT_EQ(Message(wrong), pid + ": the identity has no token to check");
}

TEST_F(ProcessIdentityTest, ZombieAndDeadProcessAreGone) {
  ProcessIdentity id = Spawn();
  const std::string pid = "pid " + std::to_string(id.pid);
  ASSERT_EQ(kill(id.pid, SIGKILL), 0);
  ASSERT_TRUE(testing::Eventually([&] { return ReadProcStat(id.pid)->dead(); }));
  EXPECT_EQ(Message(id), pid + " has exited (zombie)");
  Reap();
  EXPECT_EQ(Message(id), pid + " is not running");
}

}  // namespace
}  // namespace slipway::runtime
