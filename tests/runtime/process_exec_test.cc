// RunProcessExec: a probe command runs as the replica's user with its environment and workdir,
// its exit code and output come back, a bare name is found in the replica's PATH, and one that
// outlives its timeout is killed with its whole process group.
#include "runtime/process_exec.h"

#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "test_support.h"

namespace slipway::runtime {
namespace {

using namespace std::chrono_literals;
using testing::RunUntil;

class ProcessExecTest : public ::testing::Test {
 protected:
  LaunchSpec Replica() {
    LaunchSpec s;
    s.name = testing::UniqueName("exec");
    s.env = {{"PATH", "/usr/bin:/bin"}, {"PORT", "18123"}};
    s.workdir = dir_.path();
    return s;
  }
  ExecOutcome Run(const LaunchSpec& spec, std::vector<std::string> argv, Millis timeout = 5s) {
    std::optional<ExecOutcome> got;
    RunProcessExec(io_, spec, nullptr, std::move(argv), timeout,
                   [&](ExecOutcome o) { got = std::move(o); });
    EXPECT_FALSE(got.has_value()) << "done ran inside the call";
    EXPECT_TRUE(RunUntil(
        io_, [&] { return got.has_value(); }, 10s));
    return got.value_or(ExecOutcome{});
  }
  boost::asio::io_context io_;
  testing::TempDir dir_;
};

TEST_F(ProcessExecTest, RunsAsTheReplicasUserWithItsEnvironmentAndWorkdir) {
  ExecOutcome o = Run(Replica(), {"/bin/sh", "-c", "echo $(id -u) $PORT $(pwd); exit 3"});
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_FALSE(o.timed_out);
  EXPECT_EQ(o.output, "65534 18123 " + dir_.path() + "\n");
}

TEST_F(ProcessExecTest, FindsABareNameInThePathAndKeepsStderr) {
  ExecOutcome o = Run(Replica(), {"sh", "-c", "echo oops >&2"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.output, "oops\n");
  o = Run(Replica(), {"no-such-program-here"});
  EXPECT_EQ(o.error, "exec no-such-program-here: not found in PATH");
}

TEST_F(ProcessExecTest, AMissingProgramIsAnError) {
  ExecOutcome o = Run(Replica(), {"/no/such/binary"});
  EXPECT_NE(o.error.find("/no/such/binary"), std::string::npos) << o.error;
  EXPECT_FALSE(o.exit_code.has_value());
}

TEST_F(ProcessExecTest, PastItsTimeoutTheWholeGroupIsKilled) {
  auto began = std::chrono::steady_clock::now();
  ExecOutcome o = Run(Replica(), {"/bin/sh", "-c", "sleep 30 & echo $!; wait"}, 300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 5s);
  EXPECT_TRUE(o.timed_out);
  EXPECT_FALSE(o.exit_code.has_value());
  ASSERT_FALSE(o.output.empty());
  pid_t child = std::stoi(o.output);
  // The background sleep was in the probe's process group: gone too (reaped by the test's
  // subreaper or init; kill(0) fails once it is reaped, a zombie shows state Z).
  EXPECT_TRUE(testing::Eventually(
      [&] {
        if (kill(child, 0) != 0) return true;
        std::string stat = testing::ReadFile("/proc/" + std::to_string(child) + "/stat");
        auto close = stat.rfind(')');
        return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z';
      },
      5s));
}

}  // namespace
}  // namespace slipway::runtime
