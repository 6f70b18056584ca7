// Per-replica cgroups that carry the memory, cpu and pids limits of a LaunchSpec. The layout is
// detected at run time: cgroup v2 (one unified tree with the controllers enabled) or v1 (one
// hierarchy per controller, as on hybrid hosts where the v2 tree has no controllers). Groups are
// named slipway/<replica name> under each hierarchy's root.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/launch_spec.h"
#include "spec/app_spec.h"

namespace slipway::runtime {

enum class CgroupLayout { kNone, kV1, kV2 };
const char* CgroupLayoutName(CgroupLayout layout);  // "none", "v1", "v2"

// Detects the layout under `root` (normally /sys/fs/cgroup).
CgroupLayout DetectCgroupLayout(const std::string& root = "/sys/fs/cgroup");

// The cgroup.procs files a new process must join before exec (one per v1 hierarchy used).
struct CgroupPaths {
  std::vector<std::string> procs_files;
};

// The cgroups of one replica. Created once and reused across restarts of the replica; removed
// once its processes are gone. A daemon that adopts a replica re-attaches its groups by name:
// Create() reuses existing directories (the processes stay in them), rewrites the limits, and
// OomKills() keeps counting from the group's creation. Not thread-safe; owned by the replica.
class ReplicaCgroup {
 public:
  ReplicaCgroup() = default;
  // Creates (or reuses) the groups the requested limits need and writes the limits. Never
  // fails: what could not be applied is reported in `report` (applied flags and a note).
  static ReplicaCgroup Create(const std::string& name, const spec::Limits& limits,
                              LimitsReport* report, const std::string& root = "/sys/fs/cgroup");

  // Empty when no group was created (no limits requested, or none could be applied).
  const CgroupPaths& paths() const { return paths_; }
  // The group directories (one per v1 controller, or one for v2); for tests and status.
  const std::vector<std::string>& dirs() const { return dirs_; }
  // The directory that holds the memory controller files, empty if none.
  const std::string& memory_dir() const { return memory_dir_; }
  // How many times the kernel OOM-killed a process of this group so far (0 if unknown).
  std::uint64_t OomKills() const;
  // Removes the groups (rmdir). Returns false if some are still busy (processes still exiting):
  // call again a little later. Removing an already removed group succeeds.
  bool Remove();

 private:
  CgroupLayout layout_ = CgroupLayout::kNone;
  CgroupPaths paths_;
  std::vector<std::string> dirs_;
  std::string memory_dir_;
};

}  // namespace slipway::runtime
