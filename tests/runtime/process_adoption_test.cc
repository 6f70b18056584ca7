// A replica outlives its daemon and a new daemon adopts it. The daemon is runtime_fake_daemon,
// SIGKILLed by the test; the test process plays the restarted daemon.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "fake_daemon_support.h"
#include "runtime/proc_stat.h"
#include "runtime/process_replica.h"
#include "runtime/subreaper.h"
#include "test_support.h"

namespace slipway::runtime {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;
using testing::FakeDaemon;
using testing::Orphans;
using testing::ReadFile;
using testing::ReadLogText;
using testing::RunUntil;

const bool kSubreaper = (BecomeSubreaper(), true);  // like the daemon

// Traps TERM (a graceful stop writes a line) and USR1 (writes a line on demand); its sleeps are
// in its process group.
constexpr char kTrapScript[] =
    "trap 'echo got TERM; exit 0' TERM; trap 'echo usr1' USR1; echo started; "
    "while :; do sleep 1000 & wait $!; done";

struct Exit {
  int pid;
  std::string description;
  bool will_restart;
  Millis restart_in;
};

struct Recorder : ReplicaObserver {
  void OnReplicaStarted(int pid) override { started.push_back(pid); }
  void OnReplicaExited(int pid, const std::string& d, bool will_restart, Millis in) override {
    exits.push_back({pid, d, will_restart, in});
  }
  std::vector<int> started;
  std::vector<Exit> exits;
};

bool Live(pid_t pid) {
  Result<ProcStat> st = ReadProcStat(pid);
  return st && !st->dead();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class ProcessAdoptionTest : public ::testing::Test {
 protected:
  LaunchSpec Sh(const std::string& script) {
    LaunchSpec s;
    s.name = testing::UniqueName("adopt");
    s.command = "/bin/sh";
    s.args = {"-c", script};
    s.env = {{"PATH", "/usr/bin:/bin"}};
    s.log_path = dir_.path() + "/" + s.name + ".log";
    s.grace_period = 5s;
    return s;
  }
  // Starts `spec` under a fake daemon, waits for its "started" line and kills the daemon.
  void Orphan(FakeDaemon& d, const LaunchSpec& spec) {
    ASSERT_TRUE(d.ok()) << d.error();
    ASSERT_TRUE(Eventually([&] { return Contains(ReadLogText(spec.log_path), "started\n"); }, 10s))
        << ReadLogText(spec.log_path);
    ASSERT_TRUE(d.KillDaemon());
  }
  bool Stopped(ProcessReplica& r) {
    bool done = false;
    r.Stop([&] { done = true; });
    return RunUntil(io_, [&] { return done; });
  }

  testing::TempDir dir_;
  boost::asio::io_context io_;
  Recorder rec_;
};

TEST_F(ProcessAdoptionTest, ReplicaOutlivesTheDaemonAndIsAdoptedThenStopsGracefully) {
  LaunchSpec s = Sh(kTrapScript);
  FakeDaemon d(s);
  ASSERT_NO_FATAL_FAILURE(Orphan(d, s));
  const ProcessIdentity& id = d.identity();
  ASSERT_TRUE(VerifyIdentity(id)) << VerifyIdentity(id).error().message;
  EXPECT_EQ(ReadProcStat(id.pid)->ppid, d.keeper_pid());  // an orphan, not our child

  ProcessReplica r(io_, s, &rec_);
  Status st = r.Adopt(id);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(r.pid(), id.pid);
  EXPECT_EQ(r.identity(), id);
  EXPECT_EQ(r.state(), ReplicaState::kRunning);
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.started.size() == 1; }));
  EXPECT_EQ(rec_.started[0], id.pid);

  // Its output still goes to the same log file.
  ASSERT_EQ(kill(id.pid, SIGUSR1), 0);
  EXPECT_TRUE(RunUntil(io_, [&] { return Contains(ReadLogText(s.log_path), "usr1\n"); }));

  ASSERT_TRUE(Stopped(r));
  // Its last line reaches the file through the relay moments after it exited.
  EXPECT_TRUE(Eventually([&] { return ReadLogText(s.log_path).ends_with("got TERM\n"); }))
      << ReadLogText(s.log_path);
  std::string log = ReadLogText(s.log_path);  // (the shell may also report its sleep: Terminated)
  EXPECT_TRUE(log.starts_with("started\nusr1\n")) << log;
  ASSERT_EQ(rec_.exits.size(), 1u);
  EXPECT_EQ(rec_.exits[0].pid, id.pid);
  EXPECT_EQ(rec_.exits[0].description, "exit 0 (adopted process)");  // read from its zombie
  EXPECT_FALSE(rec_.exits[0].will_restart);
  EXPECT_FALSE(GroupHasMembersLeft(id.pid));
  EXPECT_EQ(r.state(), ReplicaState::kStopped);
  EXPECT_EQ(r.identity(), std::nullopt);
}

TEST_F(ProcessAdoptionTest, ExitAfterAdoptionIsRestartedWithANormalSpawn) {
  LaunchSpec s = Sh("echo started; exec sleep 1000");
  FakeDaemon d(s);
  ASSERT_NO_FATAL_FAILURE(Orphan(d, s));
  const ProcessIdentity& id = d.identity();
  ProcessReplica r(io_, s, &rec_, BackoffPolicy{10ms, 1s, 30s});
  ASSERT_TRUE(r.Adopt(id));
  ASSERT_EQ(kill(id.pid, SIGKILL), 0);
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.started.size() == 2; }));
  ASSERT_EQ(rec_.exits.size(), 1u);
  EXPECT_EQ(rec_.exits[0].pid, id.pid);
  EXPECT_EQ(rec_.exits[0].description, "killed by SIGKILL (adopted process)");
  EXPECT_TRUE(rec_.exits[0].will_restart);
  EXPECT_EQ(rec_.exits[0].restart_in, 10ms);
  EXPECT_EQ(r.restarts(), 1);

  // The new process is an ordinary child with an identity of its own.
  pid_t fresh = r.pid();
  EXPECT_NE(fresh, id.pid);
  EXPECT_EQ(rec_.started[1], fresh);
  EXPECT_EQ(ReadProcStat(fresh)->ppid, getpid());
  ASSERT_TRUE(r.identity());
  EXPECT_NE(r.identity()->token, id.token);
  EXPECT_TRUE(Eventually([&] { return VerifyIdentity(*r.identity()).ok(); }));
  EXPECT_TRUE(RunUntil(io_, [&] { return ReadLogText(s.log_path) == "started\nstarted\n"; }));
  ASSERT_TRUE(Stopped(r));
  EXPECT_EQ(rec_.exits.back().description, "killed by SIGTERM");
}

TEST_F(ProcessAdoptionTest, RestartOfAnAdoptedReplica) {
  LaunchSpec s = Sh("echo started; exec sleep 1000");
  FakeDaemon d(s);
  ASSERT_NO_FATAL_FAILURE(Orphan(d, s));
  ProcessReplica r(io_, s, &rec_, BackoffPolicy{10ms, 1s, 30s});
  ASSERT_TRUE(r.Adopt(d.identity()));
  r.Restart("liveness probe failed");
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.started.size() == 2; }));
  ASSERT_EQ(rec_.exits.size(), 1u);
  EXPECT_EQ(rec_.exits[0].description,
            "killed by SIGTERM (adopted process) (restart: liveness probe failed)");
  EXPECT_NE(r.pid(), d.identity().pid);
}

TEST_F(ProcessAdoptionTest, StopKillsTheWholeAdoptedGroupAfterTheGracePeriod) {
  // TERM is ignored by the shell and by the sleep it starts (ignored signals are inherited).
  LaunchSpec s = Sh("trap '' TERM; sleep 1000 & echo $!; echo started; while :; do sleep 1; done");
  s.grace_period = 300ms;
  FakeDaemon d(s);
  ASSERT_NO_FATAL_FAILURE(Orphan(d, s));
  pid_t grandchild = std::stoi(ReadLogText(s.log_path));
  ASSERT_TRUE(Live(grandchild));
  ProcessReplica r(io_, s, &rec_);
  ASSERT_TRUE(r.Adopt(d.identity()));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(Stopped(r));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  ASSERT_EQ(rec_.exits.size(), 1u);
  EXPECT_EQ(rec_.exits[0].description, "killed by SIGKILL (adopted process)");
  EXPECT_FALSE(Live(d.identity().pid));
  EXPECT_FALSE(Live(grandchild));
  EXPECT_FALSE(GroupHasMembersLeft(d.identity().pid));
}

TEST_F(ProcessAdoptionTest, DestructorKillsTheAdoptedGroup) {
  LaunchSpec s = Sh("sleep 1000 & echo $!; echo started; wait");
  FakeDaemon d(s);
  ASSERT_NO_FATAL_FAILURE(Orphan(d, s));
  pid_t grandchild = std::stoi(ReadLogText(s.log_path));
  {
    ProcessReplica r(io_, s, &rec_);
    ASSERT_TRUE(r.Adopt(d.identity()));
  }
  EXPECT_FALSE(Live(d.identity().pid));
  EXPECT_FALSE(Live(grandchild));
}

TEST_F(ProcessAdoptionTest, RefusesWhatIsNotTheReplicaAndLeavesItAlone) {
  LaunchSpec s = Sh(kTrapScript);
  FakeDaemon d(s);
  ASSERT_NO_FATAL_FAILURE(Orphan(d, s));
  const ProcessIdentity& id = d.identity();
  const std::string pid = std::to_string(id.pid);
  ProcessReplica r(io_, s, &rec_);

  ProcessIdentity wrong = id;
  wrong.token = NewReplicaToken();
  Status st = r.Adopt(wrong);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "adopt " + s.name + ": pid " + pid +
                                    " does not carry the replica's token: not the process that "
                                    "was spawned");
  wrong = id;
  wrong.start_time += 1;
  st = r.Adopt(wrong);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "adopt " + s.name + ": pid " + pid +
                                    " was started at a different time: another process reuses "
                                    "the pid");
  EXPECT_EQ(r.state(), ReplicaState::kStopped);
  EXPECT_EQ(r.pid(), 0);
  io_.poll();
  EXPECT_TRUE(rec_.started.empty());
  EXPECT_EQ(ReadLogText(s.log_path), "started\n");  // no stop signal reached it
  EXPECT_TRUE(VerifyIdentity(id));

  // Gone: a zombie (its parent, the keeper, does not reap it), then a pid with no process.
  ASSERT_EQ(kill(-id.pid, SIGKILL), 0);
  ASSERT_TRUE(testing::WaitExited(id.pid));
  st = r.Adopt(id);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "adopt " + s.name + ": pid " + pid + " has exited (zombie)");
  ProcessIdentity none = id;
  none.pid = 0x3ffffff;  // above pid_max
  st = r.Adopt(none);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message,
            "adopt " + s.name + ": pid " + std::to_string(none.pid) + " is not running");
}

TEST_F(ProcessAdoptionTest, ChildReaperIsNotConfusedWhenTheOrphanBecomesOurChild) {
  // Re-parented to the test process (a subreaper): its exit is both a SIGCHLD for the
  // ChildReaper, which reaps it as an unknown pid, and a readable pidfd for the replica.
  LaunchSpec s = Sh("echo started; exec sleep 1000");
  FakeDaemon d(s, Orphans::kToUs);
  ASSERT_NO_FATAL_FAILURE(Orphan(d, s));
  const ProcessIdentity& id = d.identity();
  EXPECT_EQ(ReadProcStat(id.pid)->ppid, getpid());
  ProcessReplica r(io_, s, &rec_, BackoffPolicy{10ms, 1s, 30s});
  ASSERT_TRUE(r.Adopt(id));
  ASSERT_EQ(kill(id.pid, SIGKILL), 0);
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.started.size() == 2; }));
  ASSERT_EQ(rec_.exits.size(), 1u);
  // Whether its zombie could be read depends on who ran first, the ChildReaper or the pidfd.
  const std::string& how = rec_.exits[0].description;
  EXPECT_TRUE(how == "killed by SIGKILL (adopted process)" ||
              how == "exited (adopted process; status unknown)")
      << how;
  EXPECT_TRUE(RunUntil(io_, [&] { return !testing::ProcessExists(id.pid); }));  // reaped
  ASSERT_TRUE(Stopped(r));
  EXPECT_EQ(rec_.exits.size(), 2u);
}

TEST_F(ProcessAdoptionTest, OutputKeepsFlowingWithNoDaemonAlive) {
  // Far more than a pipe buffer (64 KiB) with nobody reading: it must neither block nor die.
  LaunchSpec s =
      Sh("trap 'head -c 300000 /dev/zero | tr \"\\000\" x; echo; echo done' USR1; echo started; "
         "while :; do sleep 1000 & wait $!; done");
  FakeDaemon d(s);
  ASSERT_NO_FATAL_FAILURE(Orphan(d, s));
  const ProcessIdentity& id = d.identity();
  // Its output goes into a pipe, read by its log relay, which outlived the daemon too.
  EXPECT_TRUE(std::filesystem::read_symlink("/proc/" + std::to_string(id.pid) + "/fd/1")
                  .string()
                  .starts_with("pipe:"));
  ASSERT_EQ(kill(id.pid, SIGUSR1), 0);
  std::string expected = "started\n" + std::string(300000, 'x') + "\ndone\n";
  EXPECT_TRUE(Eventually([&] { return ReadLogText(s.log_path) == expected; }, 10s))
      << ReadLogText(s.log_path).size();
  EXPECT_TRUE(VerifyIdentity(id));
}

TEST_F(ProcessAdoptionTest, AdoptedLogIsStillCapped) {
  LaunchSpec s =
      Sh("trap 'head -c 10000 /dev/zero | tr \"\\000\" y; echo' USR1; echo started; "
         "while :; do sleep 1000 & wait $!; done");
  s.log_max_bytes = 4096;
  FakeDaemon d(s);
  ASSERT_NO_FATAL_FAILURE(Orphan(d, s));
  ProcessReplica r(io_, s, &rec_);
  ASSERT_TRUE(r.Adopt(d.identity()));
  ASSERT_EQ(kill(d.identity().pid, SIGUSR1), 0);
  // The relay that the dead daemon started still rotates the file by rename at the cap: the
  // record of the long line does not fit beside "started", so it starts the new file.
  const std::string all = "started\n" + std::string(10000, 'y') + "\n";
  EXPECT_TRUE(RunUntil(
      io_,
      [&] {
        std::string old_part = ReadLogText(s.log_path + ".1");
        return !old_part.empty() && old_part + ReadLogText(s.log_path) == all;
      },
      5s));
  EXPECT_EQ(ReadLogText(s.log_path + ".1").substr(0, 8), "started\n");
}

TEST_F(ProcessAdoptionTest, AdoptionReattachesTheCgroupAndSeesOutOfMemory) {
  LaunchSpec s = Sh("");
  s.command = "/usr/bin/python3";
  s.args = {
      "-c",
      "import signal\n"
      "def grow(*_):\n    b = bytearray(200 * 1024 * 1024)\n    print('survived', flush=True)\n"
      "signal.signal(signal.SIGUSR1, grow)\n"
      "print('started', flush=True)\n"
      "while True: signal.pause()\n"};
  s.limits.memory_bytes = 32 << 20;
  FakeDaemon d(s);
  ASSERT_NO_FATAL_FAILURE(Orphan(d, s));
  const ProcessIdentity& id = d.identity();
  ProcessReplica r(io_, s, &rec_, BackoffPolicy{10s, 10s, 30s});
  ASSERT_TRUE(r.Adopt(id));
  EXPECT_TRUE(r.limits().memory_applied) << r.limits().note;
  const std::string group = "/sys/fs/cgroup/memory/slipway/" + s.name;
  if (r.limits().cgroup_layout == "v1") {
    EXPECT_NE(ReadFile("/proc/" + std::to_string(id.pid) + "/cgroup")
                  .find("memory:/slipway/" + s.name + "\n"),
              std::string::npos);
  }
  ASSERT_EQ(kill(id.pid, SIGUSR1), 0);
  ASSERT_TRUE(RunUntil(
      io_, [&] { return !rec_.exits.empty(); }, 30s));
  EXPECT_EQ(rec_.exits[0].description, "killed by SIGKILL (adopted process) (out of memory)");
  EXPECT_EQ(ReadLogText(s.log_path), "started\n");
  ASSERT_TRUE(Stopped(r));
  if (r.limits().cgroup_layout == "v1") {
    EXPECT_NE(access(group.c_str(), F_OK), 0);
  }
}

}  // namespace
}  // namespace slipway::runtime
