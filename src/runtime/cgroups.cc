#include "runtime/cgroups.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace slipway::runtime {
namespace {

constexpr std::uint64_t kCpuPeriodUs = 100'000;

bool IsFsType(const std::string& path, decltype(statfs::f_type) magic) {
  struct statfs st {};
  return statfs(path.c_str(), &st) == 0 && st.f_type == magic;
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// Returns 0 or the errno of the failed open/write.
int WriteFile(const std::string& path, const std::string& content) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = 0;
  if (write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    err = errno ? errno : EIO;
  }
  close(fd);
  return err;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Reads "key N" from a flat-keyed cgroup file (memory.events, memory.oom_control).
std::uint64_t ReadKey(const std::string& path, const std::string& key) {
  std::istringstream in(ReadFile(path));
  std::string k;
  std::uint64_t v = 0;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

// mkdir that treats an existing directory as success (a group left by a crashed daemon is
// reused: its limits are rewritten below).
int MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return 0;
  return errno;
}

void AddNote(LimitsReport* report, const std::string& note) {
  if (!report->note.empty()) report->note += "; ";
  report->note += note;
}

std::string CpuQuotaUs(double cores) {
  auto quota = static_cast<std::uint64_t>(std::llround(cores * kCpuPeriodUs));
  return std::to_string(std::max<std::uint64_t>(quota, 1000));  // kernel minimum is 1ms
}

// A cpu reservation as a relative weight: one core is the kernel's default weight (cpu.shares
// 1024, cpu.weight 100), so a replica reserving 2 cores gets twice the CPU of an unreserved
// process under contention, and one reserving 0.25 a quarter of it. Clamped to the kernel's range.
std::string CpuSharesFor(double cores) {
  return std::to_string(std::clamp<long long>(std::llround(cores * 1024), 2, 262'144));
}
std::string CpuWeightFor(double cores) {
  return std::to_string(std::clamp<long long>(std::llround(cores * 100), 1, 10'000));
}

}  // namespace

const char* CgroupLayoutName(CgroupLayout layout) {
  switch (layout) {
    case CgroupLayout::kV1:
      return "v1";
    case CgroupLayout::kV2:
      return "v2";
    case CgroupLayout::kNone:
      break;
  }
  return "none";
}

CgroupLayout DetectCgroupLayout(const std::string& root) {
  if (IsFsType(root, CGROUP2_SUPER_MAGIC)) {
    // Pure v2: usable only if it offers at least one controller we set.
    std::string controllers = ReadFile(root + "/cgroup.controllers");
    for (const char* c : {"memory", "cpu", "pids"}) {
      if (controllers.find(c) != std::string::npos) return CgroupLayout::kV2;
    }
    return CgroupLayout::kNone;
  }
  for (const char* c : {"memory", "cpu", "cpu,cpuacct", "pids"}) {
    if (IsFsType(root + "/" + c, CGROUP_SUPER_MAGIC)) return CgroupLayout::kV1;
  }
  return CgroupLayout::kNone;
}

ReplicaCgroup ReplicaCgroup::Create(const std::string& name, const spec::Limits& limits,
                                    LimitsReport* report, const std::string& root) {
  ReplicaCgroup cg;
  cg.layout_ = DetectCgroupLayout(root);
  report->cgroup_layout = CgroupLayoutName(cg.layout_);
  const bool want_memory =
      limits.memory_bytes.has_value() || limits.memory_reservation_bytes.has_value();
  const bool want_cpu = limits.cpu.has_value() || limits.cpu_reservation.has_value();
  const bool want_pids = limits.processes.has_value();
  if (!want_memory && !want_cpu && !want_pids) return cg;

  if (cg.layout_ == CgroupLayout::kNone) {
    AddNote(report, "cgroup limits not applied: no usable cgroup hierarchy at " + root);
    return cg;
  }

  if (cg.layout_ == CgroupLayout::kV1) {
    // One group per hierarchy; a failed limit write removes that group again so the process
    // does not join a group that does not do what was asked.
    auto setup = [&](const char* what, const std::string& hierarchy,
                     const std::vector<std::pair<std::string, std::string>>& files) -> bool {
      if (!IsFsType(hierarchy, CGROUP_SUPER_MAGIC)) {
        AddNote(report, std::string(what) + " limit not applied: no v1 hierarchy at " + hierarchy);
        return false;
      }
      std::string dir = hierarchy + "/slipway/" + name;
      int err = MakeDir(hierarchy + "/slipway");
      if (err == 0) err = MakeDir(dir);
      if (err != 0) {
        AddNote(report, std::string(what) + " limit not applied: " + hierarchy + " not writable (" +
                            std::strerror(err) + ")");
        return false;
      }
      for (const auto& [file, value] : files) {
        err = WriteFile(dir + "/" + file, value);
        if (err != 0) {
          AddNote(report, std::string(what) + " limit not applied: writing " + dir + "/" + file +
                              ": " + std::strerror(err));
          // A reused group that still holds processes (an adopted replica's) stays known, so
          // Remove() takes it away once they are gone.
          if (rmdir(dir.c_str()) != 0 && errno == EBUSY) cg.dirs_.push_back(dir);
          return false;
        }
      }
      cg.dirs_.push_back(dir);
      cg.paths_.procs_files.push_back(dir + "/cgroup.procs");
      return true;
    };
    if (want_memory) {
      std::string hierarchy = root + "/memory";
      std::vector<std::pair<std::string, std::string>> files;
      if (limits.memory_bytes) {
        files.emplace_back("memory.limit_in_bytes", std::to_string(*limits.memory_bytes));
      }
      // v1 has no memory.low; the soft limit is what Docker uses for MemoryReservation there:
      // under memory pressure a group is reclaimed down to it before groups below theirs.
      if (limits.memory_reservation_bytes) {
        files.emplace_back("memory.soft_limit_in_bytes",
                           std::to_string(*limits.memory_reservation_bytes));
      }
      report->memory_applied = setup("memory", hierarchy, files);
      if (report->memory_applied && limits.memory_bytes) {
        cg.memory_dir_ = cg.dirs_.back();
        // Without swap accounting the limit already OOM-kills; with it, forbid escaping to swap.
        if (Exists(cg.memory_dir_ + "/memory.memsw.limit_in_bytes")) {
          WriteFile(cg.memory_dir_ + "/memory.memsw.limit_in_bytes",
                    std::to_string(*limits.memory_bytes));
        }
      }
    }
    if (want_cpu) {
      std::string hierarchy = root + "/cpu";
      if (!IsFsType(hierarchy, CGROUP_SUPER_MAGIC)) hierarchy = root + "/cpu,cpuacct";
      std::vector<std::pair<std::string, std::string>> files;
      if (limits.cpu) {
        files.emplace_back("cpu.cfs_period_us", std::to_string(kCpuPeriodUs));
        files.emplace_back("cpu.cfs_quota_us", CpuQuotaUs(*limits.cpu));
      }
      if (limits.cpu_reservation) {
        files.emplace_back("cpu.shares", CpuSharesFor(*limits.cpu_reservation));
      }
      report->cpu_applied = setup("cpu", hierarchy, files);
    }
    if (want_pids) {
      report->pids_applied =
          setup("pids", root + "/pids", {{"pids.max", std::to_string(*limits.processes)}});
    }
    return cg;
  }

  // v2: enable the controllers for the children of root and of root/slipway, then one group.
  std::string available = ReadFile(root + "/cgroup.controllers");
  std::string enable;
  auto want = [&](bool wanted, const char* c, bool* applied) {
    if (!wanted) return;
    if (available.find(c) == std::string::npos) {
      AddNote(report, std::string(c) + " limit not applied: controller not available in " + root);
      return;
    }
    enable += std::string(enable.empty() ? "+" : " +") + c;
    *applied = true;  // provisional; cleared below if the write fails
  };
  want(want_memory, "memory", &report->memory_applied);
  want(want_cpu, "cpu", &report->cpu_applied);
  want(want_pids, "pids", &report->pids_applied);
  if (enable.empty()) return cg;
  std::string parent = root + "/slipway";
  std::string dir = parent + "/" + name;
  int err = WriteFile(root + "/cgroup.subtree_control", enable);
  if (err == 0) err = MakeDir(parent);
  if (err == 0) err = WriteFile(parent + "/cgroup.subtree_control", enable);
  if (err == 0) err = MakeDir(dir);
  if (err != 0) {
    AddNote(report,
            "cgroup limits not applied: " + root + " not writable (" + std::strerror(err) + ")");
    report->memory_applied = report->cpu_applied = report->pids_applied = false;
    return cg;
  }
  auto apply = [&](bool* applied, const char* what, const std::string& file,
                   const std::string& value) {
    if (!*applied) return;
    int e = WriteFile(dir + "/" + file, value);
    if (e != 0) {
      *applied = false;
      AddNote(report, std::string(what) + " limit not applied: writing " + dir + "/" + file + ": " +
                          std::strerror(e));
    }
  };
  if (limits.memory_bytes) {
    apply(&report->memory_applied, "memory", "memory.max", std::to_string(*limits.memory_bytes));
    if (report->memory_applied && Exists(dir + "/memory.swap.max")) {
      WriteFile(dir + "/memory.swap.max", "0");
    }
  }
  if (limits.memory_reservation_bytes) {
    apply(&report->memory_applied, "memory", "memory.low",
          std::to_string(*limits.memory_reservation_bytes));
  }
  if (limits.cpu) {
    apply(&report->cpu_applied, "cpu", "cpu.max",
          CpuQuotaUs(*limits.cpu) + " " + std::to_string(kCpuPeriodUs));
  }
  if (limits.cpu_reservation) {
    apply(&report->cpu_applied, "cpu", "cpu.weight", CpuWeightFor(*limits.cpu_reservation));
  }
  if (want_pids) {
    apply(&report->pids_applied, "pids", "pids.max", std::to_string(*limits.processes));
  }
  cg.dirs_.push_back(dir);
  cg.paths_.procs_files.push_back(dir + "/cgroup.procs");
  if (report->memory_applied) cg.memory_dir_ = dir;
  return cg;
}

std::uint64_t ReplicaCgroup::OomKills() const {
  if (memory_dir_.empty()) return 0;
  if (layout_ == CgroupLayout::kV2) return ReadKey(memory_dir_ + "/memory.events", "oom_kill");
  return ReadKey(memory_dir_ + "/memory.oom_control", "oom_kill");
}

bool ReplicaCgroup::Remove() {
  bool all = true;
  std::vector<std::string> left;
  for (const std::string& dir : dirs_) {
    if (rmdir(dir.c_str()) != 0 && errno != ENOENT) {
      all = false;
      left.push_back(dir);
    }
  }
  dirs_ = left;
  if (all) {
    paths_.procs_files.clear();
    memory_dir_.clear();
  }
  return all;
}

}  // namespace slipway::runtime
