#include "runtime/cgroups.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "test_support.h"

namespace slipway::runtime {
namespace {

using testing::ReadFile;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(CgroupsTest, DetectsALayout) {
  // These machines are a v1/v2 hybrid whose v2 tree has no controllers (see DESIGN.md).
  CgroupLayout layout = DetectCgroupLayout();
  EXPECT_NE(layout, CgroupLayout::kNone);
  if (access("/sys/fs/cgroup/unified", F_OK) == 0) {
    EXPECT_EQ(layout, CgroupLayout::kV1);
  }
}

TEST(CgroupsTest, NoLimitsNoGroups) {
  LimitsReport report;
  ReplicaCgroup cg = ReplicaCgroup::Create(testing::UniqueName("cg"), spec::Limits{}, &report);
  EXPECT_TRUE(cg.paths().procs_files.empty());
  EXPECT_FALSE(report.memory_applied || report.cpu_applied || report.pids_applied);
  EXPECT_EQ(report.note, "");
}

TEST(CgroupsTest, WritesV1LimitsAndRemoves) {
  if (DetectCgroupLayout() != CgroupLayout::kV1) GTEST_SKIP() << "not a v1 host";
  spec::Limits limits;
  limits.memory_bytes = 32 << 20;
  limits.cpu = 0.5;
  limits.processes = 64;
  LimitsReport report;
  std::string name = testing::UniqueName("cg");
  ReplicaCgroup cg = ReplicaCgroup::Create(name, limits, &report);
  EXPECT_EQ(report.cgroup_layout, "v1");
  EXPECT_TRUE(report.memory_applied);
  EXPECT_TRUE(report.cpu_applied);
  EXPECT_TRUE(report.pids_applied);
  EXPECT_EQ(report.note, "");
  EXPECT_EQ(cg.paths().procs_files.size(), 3u);
  const std::string mem = "/sys/fs/cgroup/memory/slipway/" + name;
  const std::string cpu = "/sys/fs/cgroup/cpu/slipway/" + name;
  const std::string pids = "/sys/fs/cgroup/pids/slipway/" + name;
  EXPECT_EQ(Trim(ReadFile(mem + "/memory.limit_in_bytes")), "33554432");
  EXPECT_EQ(Trim(ReadFile(cpu + "/cpu.cfs_quota_us")), "50000");
  EXPECT_EQ(Trim(ReadFile(cpu + "/cpu.cfs_period_us")), "100000");
  EXPECT_EQ(Trim(ReadFile(pids + "/pids.max")), "64");
  EXPECT_EQ(cg.OomKills(), 0u);
  EXPECT_TRUE(cg.Remove());
  for (const std::string& d : {mem, cpu, pids}) EXPECT_NE(access(d.c_str(), F_OK), 0) << d;
  EXPECT_TRUE(cg.Remove());  // idempotent
}

TEST(CgroupsTest, WritesV1ReservationsAsSoftLimitAndShares) {
  if (DetectCgroupLayout() != CgroupLayout::kV1) GTEST_SKIP() << "not a v1 host";
  spec::Limits limits;
  limits.memory_reservation_bytes = 16 << 20;
  limits.cpu_reservation = 0.25;
  LimitsReport report;
  std::string name = testing::UniqueName("cg");
  ReplicaCgroup cg = ReplicaCgroup::Create(name, limits, &report);
  EXPECT_TRUE(report.memory_applied);
  EXPECT_TRUE(report.cpu_applied);
  EXPECT_FALSE(report.pids_applied);
  EXPECT_EQ(report.note, "");
  EXPECT_EQ(cg.paths().procs_files.size(), 2u);
  const std::string mem = "/sys/fs/cgroup/memory/slipway/" + name;
  const std::string cpu = "/sys/fs/cgroup/cpu/slipway/" + name;
  EXPECT_EQ(Trim(ReadFile(mem + "/memory.soft_limit_in_bytes")), "16777216");
  EXPECT_EQ(Trim(ReadFile(cpu + "/cpu.shares")), "256");
  // No cap was asked for: the group's quota and limit stay unlimited.
  EXPECT_EQ(Trim(ReadFile(cpu + "/cpu.cfs_quota_us")), "-1");
  EXPECT_EQ(Trim(ReadFile(mem + "/memory.limit_in_bytes")), "9223372036854771712");
  EXPECT_TRUE(cg.Remove());
}

TEST(CgroupsTest, CreatingAgainReattachesTheGroupsOfARunningProcess) {
  if (DetectCgroupLayout() != CgroupLayout::kV1) GTEST_SKIP() << "not a v1 host";
  spec::Limits limits;
  limits.memory_bytes = 64 << 20;
  limits.processes = 16;
  std::string name = testing::UniqueName("cg");
  LimitsReport first;
  ReplicaCgroup cg = ReplicaCgroup::Create(name, limits, &first);
  ASSERT_EQ(cg.paths().procs_files.size(), 2u);
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  for (const std::string& f : cg.paths().procs_files) {
    std::ofstream(f) << pid;
  }
  // What an adopting daemon does: the same name finds the same groups, the process stays in.
  LimitsReport again;
  ReplicaCgroup reattached = ReplicaCgroup::Create(name, limits, &again);
  EXPECT_TRUE(again.memory_applied && again.pids_applied) << again.note;
  EXPECT_EQ(reattached.dirs(), cg.dirs());
  EXPECT_EQ(reattached.OomKills(), 0u);
  std::string in = ReadFile("/proc/" + std::to_string(pid) + "/cgroup");
  EXPECT_NE(in.find("memory:/slipway/" + name + "\n"), std::string::npos) << in;
  EXPECT_FALSE(reattached.Remove());  // busy
  kill(pid, SIGKILL);
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(testing::Eventually([&] { return reattached.Remove(); }));
  for (const std::string& d : cg.dirs()) EXPECT_NE(access(d.c_str(), F_OK), 0) << d;
}

TEST(CgroupsTest, NoHierarchyIsReportedNotFatal) {
  testing::TempDir dir;  // a plain directory: no cgroup file system
  spec::Limits limits;
  limits.memory_bytes = 1 << 20;
  LimitsReport report;
  ReplicaCgroup cg = ReplicaCgroup::Create("x", limits, &report, dir.path());
  EXPECT_EQ(report.cgroup_layout, "none");
  EXPECT_FALSE(report.memory_applied);
  EXPECT_EQ(report.note, "cgroup limits not applied: no usable cgroup hierarchy at " + dir.path());
  EXPECT_TRUE(cg.paths().procs_files.empty());
}

}  // namespace
}  // namespace slipway::runtime
