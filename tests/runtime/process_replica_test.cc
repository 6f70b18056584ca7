#include "runtime/process_replica.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "runtime/subreaper.h"
#include "test_support.h"

namespace slipway::runtime {
namespace {

using namespace std::chrono_literals;
using testing::ReadFile;
using testing::ReadLogText;
using testing::RunUntil;
using testing::TempDir;

// Like the daemon: orphans of replicas are re-parented to us and reaped by the child reaper.
const bool kSubreaper = (BecomeSubreaper(), true);

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

class ProcessReplicaTest : public ::testing::Test {
 protected:
  LaunchSpec Sh(const std::string& script) {
    LaunchSpec s;
    s.name = testing::UniqueName("rep");
    s.command = "/bin/sh";
    s.args = {"-c", script};
    s.env = {{"PATH", "/usr/bin:/bin"}, {"PORT", "18080"}};
    s.log_path = dir_.path() + "/" + s.name + ".log";
    s.grace_period = 5s;
    return s;
  }
  // The pids a script printed with `echo $!`, one a line, after a "ready" line.
  std::vector<pid_t> PidsLogged(const std::string& log) {
    std::istringstream in(ReadLogText(log));
    std::vector<pid_t> pids;
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0]))) {
        pids.push_back(std::stoi(line));
      }
    }
    return pids;
  }
  bool Stopped(ProcessReplica& r) {
    bool done = false;
    r.Stop([&] { done = true; });
    return RunUntil(io_, [&] { return done; });
  }

  TempDir dir_;
  boost::asio::io_context io_;
  Recorder rec_;
};

TEST_F(ProcessReplicaTest, StartsAsNobodyAndCapturesOutput) {
  LaunchSpec s = Sh("echo port=$PORT; id -u; exec sleep 30");
  std::string log = s.log_path;
  ProcessReplica r(io_, s, &rec_);
  ASSERT_TRUE(r.Start());
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.started.size() == 1; }));
  EXPECT_EQ(rec_.started[0], r.pid());
  EXPECT_EQ(r.state(), ReplicaState::kRunning);
  EXPECT_TRUE(RunUntil(io_, [&] { return ReadLogText(log) == "port=18080\n65534\n"; }))
      << ReadLogText(log);
  EXPECT_EQ(getpgid(r.pid()), r.pid());
  EXPECT_TRUE(Stopped(r));
  ASSERT_EQ(rec_.exits.size(), 1u);
  EXPECT_EQ(rec_.exits[0].description, "killed by SIGTERM");
  EXPECT_FALSE(rec_.exits[0].will_restart);
  EXPECT_EQ(r.state(), ReplicaState::kStopped);
  EXPECT_EQ(r.pid(), 0);
}

TEST_F(ProcessReplicaTest, IdentityOfTheSpawnedProcessIsWhatProcShows) {
  ProcessReplica r(io_, Sh("exec sleep 30"), &rec_, BackoffPolicy{10ms, 1s, 30s});
  EXPECT_EQ(r.identity(), std::nullopt);
  ASSERT_TRUE(r.Start());
  std::optional<ProcessIdentity> id = r.identity();
  ASSERT_TRUE(id);
  Result<ProcessIdentity> read = ReadIdentity(r.pid());
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(id->pid, r.pid());
  EXPECT_EQ(id->start_time, read->start_time);
  EXPECT_EQ(id->boot_id, read->boot_id);
  EXPECT_EQ(id->token.size(), 32u);
  // The token is in the process's environment, not in the spec the caller sees.
  EXPECT_TRUE(testing::Eventually([&] {
    return ReadFile("/proc/" + std::to_string(r.pid()) + "/environ")
               .find(std::string(kReplicaTokenEnv) + "=" + id->token + '\0') != std::string::npos;
  }));
  EXPECT_TRUE(VerifyIdentity(*id));
  EXPECT_EQ(r.spec().env.count(kReplicaTokenEnv), 0u);

  // Each spawn has a token of its own.
  ASSERT_EQ(kill(r.pid(), SIGKILL), 0);
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.started.size() == 2; }));
  ASSERT_TRUE(r.identity());
  EXPECT_NE(r.identity()->token, id->token);
  EXPECT_EQ(r.identity()->pid, r.pid());
  EXPECT_TRUE(Stopped(r));
  EXPECT_EQ(r.identity(), std::nullopt);
}

TEST_F(ProcessReplicaTest, StartErrorsLeaveNothingRunning) {
  LaunchSpec s = Sh("true");
  s.command = "/nonexistent/hello";
  ProcessReplica missing(io_, s, &rec_);
  Status st = missing.Start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "exec /nonexistent/hello as nobody: No such file or directory");
  EXPECT_EQ(missing.state(), ReplicaState::kStopped);

  s = Sh("true");
  s.user = "root";
  ProcessReplica root(io_, s, &rec_);
  st = root.Start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "refusing to run as root: set allow_root: true in the spec");

  s.user = "no-such-user-slipway";
  ProcessReplica bad(io_, s, &rec_);
  EXPECT_FALSE(bad.Start());
  io_.poll();
  EXPECT_TRUE(rec_.started.empty());
  EXPECT_TRUE(rec_.exits.empty());
  EXPECT_EQ(missing.restarts() + root.restarts() + bad.restarts(), 0);
}

TEST_F(ProcessReplicaTest, CrashRestartsWithGrowingBackoff) {
  ProcessReplica r(io_, Sh("exit 3"), &rec_, BackoffPolicy{20ms, 100ms, 30s});
  ASSERT_TRUE(r.Start());
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.exits.size() >= 5; }));
  std::vector<Millis> delays;
  for (const Exit& e : rec_.exits) {
    EXPECT_EQ(e.description, "exit 3");
    EXPECT_TRUE(e.will_restart);
    delays.push_back(e.restart_in);
  }
  EXPECT_EQ(delays[0], 20ms);
  EXPECT_EQ(delays[1], 40ms);
  EXPECT_EQ(delays[2], 80ms);
  EXPECT_EQ(delays[3], 100ms);
  EXPECT_EQ(delays[4], 100ms);
  EXPECT_GE(r.restarts(), 4);
  EXPECT_TRUE(Stopped(r));
  EXPECT_EQ(r.state(), ReplicaState::kStopped);
}

TEST_F(ProcessReplicaTest, KillNineIsRestarted) {
  ProcessReplica r(io_, Sh("exec sleep 30"), &rec_, BackoffPolicy{10ms, 1s, 30s});
  ASSERT_TRUE(r.Start());
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.started.size() == 1; }));
  int first = r.pid();
  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.started.size() == 2; }));
  ASSERT_EQ(rec_.exits.size(), 1u);
  EXPECT_EQ(rec_.exits[0].pid, first);
  EXPECT_EQ(rec_.exits[0].description, "killed by SIGKILL");
  EXPECT_TRUE(rec_.exits[0].will_restart);
  EXPECT_NE(r.pid(), first);
  EXPECT_EQ(r.restarts(), 1);
  EXPECT_EQ(kill(first, 0), -1);  // reaped, not a zombie
}

TEST_F(ProcessReplicaTest, RestartKillsAndRespawns) {
  ProcessReplica r(io_, Sh("exec sleep 30"), &rec_, BackoffPolicy{10ms, 1s, 30s});
  ASSERT_TRUE(r.Start());
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.started.size() == 1; }));
  r.Restart("liveness probe failed");
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.started.size() == 2; }));
  ASSERT_EQ(rec_.exits.size(), 1u);
  EXPECT_EQ(rec_.exits[0].description, "killed by SIGTERM (restart: liveness probe failed)");
  EXPECT_TRUE(rec_.exits[0].will_restart);
}

TEST_F(ProcessReplicaTest, StopKillsAProcessIgnoringTermAfterGrace) {
  LaunchSpec s = Sh("trap '' TERM; echo ready; while :; do sleep 1; done");
  s.grace_period = 300ms;
  std::string log = s.log_path;
  ProcessReplica r(io_, s, &rec_);
  ASSERT_TRUE(r.Start());
  ASSERT_TRUE(RunUntil(io_, [&] { return ReadLogText(log) == "ready\n"; }));
  pid_t pid = r.pid();
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(Stopped(r));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  ASSERT_EQ(rec_.exits.size(), 1u);
  EXPECT_EQ(rec_.exits[0].description, "killed by SIGKILL");
  EXPECT_EQ(kill(-pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(ProcessReplicaTest, StopLeavesNoProcessOfTheGroup) {
  LaunchSpec s = Sh("sleep 1000 & echo $!; sleep 1000 & echo $!; wait");
  std::string log = s.log_path;
  ProcessReplica r(io_, s, &rec_);
  ASSERT_TRUE(r.Start());
  ASSERT_TRUE(RunUntil(io_, [&] { return PidsLogged(log).size() == 2; }));
  pid_t pid = r.pid();
  std::vector<pid_t> children = PidsLogged(log);
  ASSERT_TRUE(Stopped(r));
  EXPECT_EQ(kill(-pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  for (pid_t c : children) EXPECT_EQ(kill(c, 0), -1) << c;  // ESRCH: gone and reaped
  EXPECT_EQ(kill(pid, 0), -1);
}

TEST_F(ProcessReplicaTest, LeaderExitTakesItsGroupAlong) {
  LaunchSpec s = Sh("sleep 1000 & echo $!; exit 1");
  std::string log = s.log_path;
  ProcessReplica r(io_, s, &rec_, BackoffPolicy{10s, 10s, 30s});
  ASSERT_TRUE(r.Start());
  ASSERT_TRUE(RunUntil(io_, [&] { return !rec_.exits.empty() && !PidsLogged(log).empty(); }));
  pid_t orphan = PidsLogged(log)[0];
  EXPECT_TRUE(RunUntil(io_, [&] { return kill(orphan, 0) != 0; }));
  EXPECT_EQ(r.state(), ReplicaState::kBackingOff);
  EXPECT_TRUE(Stopped(r));  // cancels the pending restart
  EXPECT_EQ(rec_.started.size(), 1u);
}

TEST_F(ProcessReplicaTest, DestructorKillsAndReapsEverything) {
  LaunchSpec s = Sh("sleep 1000 & echo $!; wait");
  std::string log = s.log_path;
  pid_t pid = 0;
  std::vector<pid_t> children;
  {
    ProcessReplica r(io_, s, &rec_);
    ASSERT_TRUE(r.Start());
    ASSERT_TRUE(RunUntil(io_, [&] { return PidsLogged(log).size() == 1; }));
    pid = r.pid();
    children = PidsLogged(log);
  }
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(kill(children[0], 0), -1);
  EXPECT_EQ(kill(-pid, 0), -1);
}

TEST_F(ProcessReplicaTest, FailedRespawnBacksOffUntilTheBinaryIsBack) {
  std::string bin = dir_.path() + "/app";
  std::ofstream(bin) << "#!/bin/sh\necho run\nexit 1\n";
  chmod(bin.c_str(), 0755);
  LaunchSpec s = Sh("");
  s.command = bin;
  s.args = {};
  std::string log = s.log_path;
  ProcessReplica r(io_, s, &rec_, BackoffPolicy{20ms, 40ms, 30s});
  ASSERT_TRUE(r.Start());
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.exits.size() == 1; }));
  unlink(bin.c_str());
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.exits.size() == 3; }));
  EXPECT_EQ(rec_.exits[1].pid, 0);
  EXPECT_EQ(rec_.exits[1].description, "exec " + bin + " as nobody: No such file or directory");
  EXPECT_TRUE(rec_.exits[1].will_restart);
  std::ofstream(bin) << "#!/bin/sh\necho back\nexec sleep 30\n";
  chmod(bin.c_str(), 0755);
  ASSERT_TRUE(RunUntil(io_, [&] { return ReadLogText(log).find("back\n") != std::string::npos; }));
  EXPECT_EQ(r.state(), ReplicaState::kRunning);
}

TEST_F(ProcessReplicaTest, MemoryLimitOomKills) {
  LaunchSpec s = Sh("");
  s.command = "/usr/bin/python3";
  s.args = {"-c", "import time\nb = bytearray(200 * 1024 * 1024)\nprint('survived')\n"};
  s.limits.memory_bytes = 32 << 20;
  s.limits.cpu = 0.5;
  s.limits.processes = 64;
  std::string log = s.log_path;
  ProcessReplica r(io_, s, &rec_, BackoffPolicy{10s, 10s, 30s});
  ASSERT_TRUE(r.Start());
  const LimitsReport& l = r.limits();
  EXPECT_EQ(l.cgroup_layout, "v1");
  EXPECT_TRUE(l.memory_applied);
  EXPECT_TRUE(l.cpu_applied);
  EXPECT_TRUE(l.pids_applied);
  EXPECT_EQ(l.note, "");
  std::string name = s.name;
  EXPECT_EQ(ReadFile("/sys/fs/cgroup/cpu/slipway/" + name + "/cpu.cfs_quota_us"), "50000\n");
  EXPECT_EQ(ReadFile("/sys/fs/cgroup/pids/slipway/" + name + "/pids.max"), "64\n");
  ASSERT_TRUE(RunUntil(
      io_, [&] { return !rec_.exits.empty(); }, 30s));
  EXPECT_EQ(rec_.exits[0].description, "killed by SIGKILL (out of memory)");
  EXPECT_EQ(ReadLogText(log).find("survived"), std::string::npos);
  EXPECT_TRUE(Stopped(r));
  EXPECT_NE(access(("/sys/fs/cgroup/memory/slipway/" + name).c_str(), F_OK), 0);
}

TEST_F(ProcessReplicaTest, ProcessJoinsItsCgroups) {
  LaunchSpec s = Sh("exec sleep 30");
  s.limits.memory_bytes = 64 << 20;
  s.limits.processes = 8;
  ProcessReplica r(io_, s, &rec_);
  ASSERT_TRUE(r.Start());
  std::string cg = ReadFile("/proc/" + std::to_string(r.pid()) + "/cgroup");
  EXPECT_NE(cg.find("memory:/slipway/" + s.name + "\n"), std::string::npos) << cg;
  EXPECT_NE(cg.find("pids:/slipway/" + s.name + "\n"), std::string::npos) << cg;
  EXPECT_TRUE(Stopped(r));
}

// The log relay of the replica that writes `log_path`: the process whose command line names it.
pid_t RelayOf(const std::string& log_path) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = e.path().filename().string();
    if (!std::isdigit(static_cast<unsigned char>(pid[0]))) continue;
    std::string cmdline = ReadFile("/proc/" + pid + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(" log-relay ") != std::string::npos &&
        cmdline.find(" " + log_path + " ") != std::string::npos) {
      return std::stoi(pid);
    }
  }
  return 0;
}

TEST_F(ProcessReplicaTest, OutputGoesThroughALogRelayThatIsNotPartOfTheReplica) {
  LaunchSpec s = Sh("echo out; echo err >&2; exec sleep 30");
  s.limits.processes = 8;
  s.log_labels = {"hello", 3, 1};
  ProcessReplica r(io_, s, &rec_);
  ASSERT_TRUE(r.Start());
  ASSERT_TRUE(RunUntil(io_, [&] {
    return ReadLogText(s.log_path) == "out\nerr\n" || ReadLogText(s.log_path) == "err\nout\n";
  })) << ReadFile(s.log_path);
  std::istringstream in(ReadFile(s.log_path));
  std::set<std::string> streams;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["app"], "hello");
    EXPECT_EQ(j["release"], 3);
    EXPECT_EQ(j["replica"], 1);
    streams.insert(j["stream"].get<std::string>());
  }
  EXPECT_EQ(streams, (std::set<std::string>{"stdout", "stderr"}));
  pid_t relay = RelayOf(s.log_path);
  ASSERT_GT(relay, 0);
  // Not in the replica's group, session or cgroups; its pid is not the replica's.
  EXPECT_NE(relay, r.pid());
  EXPECT_NE(getpgid(relay), r.pid());
  EXPECT_EQ(ReadFile("/proc/" + std::to_string(relay) + "/cgroup").find("/slipway/" + s.name),
            std::string::npos);
  EXPECT_TRUE(Stopped(r));
  // The relay ends with its replica's output and is reaped (no zombie left).
  EXPECT_TRUE(RunUntil(io_, [&] { return !testing::ProcessExists(relay); }));
}

TEST_F(ProcessReplicaTest, AKilledLogRelayRestartsItsReplicaWithANewOne) {
  LaunchSpec s = Sh("echo up; exec sleep 30");
  ProcessReplica r(io_, s, &rec_, BackoffPolicy{10ms, 1s, 30s});
  ASSERT_TRUE(r.Start());
  ASSERT_TRUE(RunUntil(io_, [&] { return ReadLogText(s.log_path) == "up\n"; }));
  pid_t relay = RelayOf(s.log_path);
  ASSERT_GT(relay, 0);
  ASSERT_EQ(kill(relay, SIGKILL), 0);
  // The replica's output would go nowhere: it is restarted, and a new relay takes its output.
  ASSERT_TRUE(RunUntil(io_, [&] { return rec_.started.size() == 2; }));
  ASSERT_EQ(rec_.exits.size(), 1u);
  EXPECT_EQ(rec_.exits[0].description,
            "killed by SIGTERM (restart: its log relay killed by SIGKILL)");
  EXPECT_TRUE(RunUntil(io_, [&] { return ReadLogText(s.log_path) == "up\nup\n"; }));
  EXPECT_NE(RelayOf(s.log_path), relay);
  EXPECT_TRUE(Stopped(r));
}

TEST_F(ProcessReplicaTest, ReplicasOnSeveralIoContextsInThreads) {
  constexpr int kThreads = 3;
  std::vector<std::thread> threads;
  std::vector<int> exits(kThreads, 0);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      boost::asio::io_context io;
      Recorder rec;
      ProcessReplica r(io, Sh("exit 2"), &rec, BackoffPolicy{5ms, 10ms, 30s});
      ASSERT_TRUE(r.Start());
      RunUntil(io, [&] { return rec.exits.size() >= 5; });
      exits[i] = static_cast<int>(rec.exits.size());
      bool done = false;
      r.Stop([&] { done = true; });
      RunUntil(io, [&] { return done; });
    });
  }
  for (auto& t : threads) t.join();
  for (int n : exits) EXPECT_GE(n, 5);
}

}  // namespace
}  // namespace slipway::runtime
