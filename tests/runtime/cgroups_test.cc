#include "runtime/cgroups.h"

#include <gtest/gtest.h>
#include <unistd.h>

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
