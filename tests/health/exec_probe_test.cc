// Exec and running probes, with a scripted ExecRunner (the runtime's runners have their own
// tests): the verdict and detail a user sees.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "health/probe_loop.h"
#include "test_http_server.h"

namespace slipway::health {
namespace {

using testing::RunUntil;
using namespace std::chrono_literals;

class ScriptedRunner : public ExecRunner {
 public:
  explicit ScriptedRunner(boost::asio::io_context& io) : io_(io) {}
  void RunExec(std::vector<std::string> argv, spec::Millis timeout,
               std::function<void(ExecOutcome)> done) override {
    seen.push_back(std::move(argv));
    last_timeout = timeout;
    ExecOutcome outcome = outcomes.empty() ? ExecOutcome{} : outcomes.front();
    if (outcomes.size() > 1) outcomes.erase(outcomes.begin());
    boost::asio::post(io_, [done = std::move(done), outcome] { done(outcome); });
  }
  std::vector<ExecOutcome> outcomes;
  std::vector<std::vector<std::string>> seen;
  spec::Millis last_timeout{0};

 private:
  boost::asio::io_context& io_;
};

class Verdicts : public ProbeConsumer {
 public:
  void OnHealthy() override { ++healthy; }
  void OnUnhealthy(const ProbeResult& last) override {
    ++unhealthy;
    detail = last.detail;
  }
  int healthy = 0;
  int unhealthy = 0;
  std::string detail;
};

ExecOutcome Exited(int code, std::string output = "") {
  ExecOutcome o;
  o.exit_code = code;
  o.output = std::move(output);
  return o;
}

TEST(ExecProbeResult, ExitZeroPassesOthersFailWithCodeAndFirstLine) {
  EXPECT_EQ(ExecProbeResult(Exited(0), 1s).ok, true);
  EXPECT_EQ(ExecProbeResult(Exited(0), 1s).detail, "exit 0");
  ProbeResult failed = ExecProbeResult(Exited(1, "\n  \nprobe: HTTP 404\nsecond line\n"), 1s);
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.detail, "exit 1: probe: HTTP 404");
  ExecOutcome killed;
  killed.timed_out = true;
  EXPECT_EQ(ExecProbeResult(killed, 2s).detail, "timeout after 2s (killed)");
  EXPECT_FALSE(ExecProbeResult(killed, 2s).ok);
  ExecOutcome signalled;
  signalled.signal = 9;
  EXPECT_EQ(ExecProbeResult(signalled, 1s).detail, "killed by signal 9");
  ExecOutcome error;
  error.error = "exec /bin/sh: No such file or directory";
  EXPECT_EQ(ExecProbeResult(error, 1s).detail, "exec /bin/sh: No such file or directory");
  EXPECT_FALSE(ExecProbeResult(error, 1s).ok);
}

TEST(ExecProbe, LoopRunsTheCommandAndAppliesThresholds) {
  boost::asio::io_context io;
  ScriptedRunner runner(io);
  runner.outcomes = {Exited(1, "not yet"), Exited(1, "not yet"), Exited(0)};
  spec::Probe probe;
  probe.type = spec::ProbeType::kExec;
  probe.command = {"/hello", "probe"};
  probe.interval = 10ms;
  probe.timeout = 700ms;
  probe.failure_threshold = 2;
  Verdicts verdicts;
  ProbeLoop loop(io, probe, 0, &verdicts, &runner);
  loop.Start();
  ASSERT_TRUE(RunUntil(io, [&] { return verdicts.healthy == 1; }));
  EXPECT_EQ(verdicts.unhealthy, 1);
  EXPECT_EQ(verdicts.detail, "exit 1: not yet");
  EXPECT_EQ(runner.seen.size(), 3u);
  EXPECT_EQ(runner.seen[0], (std::vector<std::string>{"/hello", "probe"}));
  EXPECT_EQ(runner.last_timeout, 700ms);
  EXPECT_EQ(loop.last_result().detail, "exit 0");
}

TEST(ExecProbe, WithoutARunnerItFails) {
  boost::asio::io_context io;
  spec::Probe probe;
  probe.type = spec::ProbeType::kExec;
  probe.command = {"/x"};
  probe.interval = 10ms;
  probe.failure_threshold = 1;
  Verdicts verdicts;
  ProbeLoop loop(io, probe, 0, &verdicts);
  loop.Start();
  ASSERT_TRUE(RunUntil(io, [&] { return verdicts.unhealthy == 1; }));
  EXPECT_EQ(verdicts.detail, "exec probes are not supported here");
}

TEST(RunningProbe, HealthyOnceRunningForTheDurationNotBefore) {
  boost::asio::io_context io;
  spec::Probe probe;
  probe.type = spec::ProbeType::kRunning;
  probe.running_for = 200ms;
  Verdicts verdicts;
  ProbeLoop loop(io, probe, 0, &verdicts);
  auto began = std::chrono::steady_clock::now();
  loop.Start();
  EXPECT_EQ(loop.last_result().detail, "running for less than 200ms");
  ASSERT_TRUE(RunUntil(io, [&] { return verdicts.healthy == 1; }));
  EXPECT_GE(std::chrono::steady_clock::now() - began, 200ms);
  EXPECT_TRUE(loop.healthy());
  EXPECT_EQ(loop.last_result().detail, "running for 200ms");
}

TEST(RunningProbe, StoppedBeforeTheDurationNeverHealthy) {
  boost::asio::io_context io;
  spec::Probe probe;
  probe.type = spec::ProbeType::kRunning;
  probe.running_for = 100ms;
  Verdicts verdicts;
  ProbeLoop loop(io, probe, 0, &verdicts);
  loop.Start();
  loop.Stop();  // what the replica's exit does
  io.run_for(300ms);
  EXPECT_EQ(verdicts.healthy, 0);
  EXPECT_FALSE(loop.healthy());
}

}  // namespace
}  // namespace slipway::health
