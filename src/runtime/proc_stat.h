// Reading /proc: the few fields of /proc/<pid>/stat the runtime needs to tell processes apart
// and to see whether a process group still has members to wait for.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace slipway::runtime {

struct ProcStat {
  char state = '?';  // R, S, D, T, t, Z (zombie), X (dead), I, ...
  pid_t ppid = 0;
  pid_t pgrp = 0;
  std::uint64_t utime = 0;       // field 14: user CPU time, clock ticks
  std::uint64_t stime = 0;       // field 15: system CPU time, clock ticks
  std::uint64_t start_time = 0;  // field 22: clock ticks since boot
  std::uint64_t vsize = 0;       // field 23: virtual memory, bytes (0 when absent)
  std::uint64_t rss = 0;         // field 24: resident set, pages (0 when absent)
  // Field 52, a wait status as waitpid gives it; meaningful for zombies only (0 while running,
  // and 0 when the reader may not ptrace the process). Absent on kernels older than 3.5.
  std::optional<int> exit_code;

  bool dead() const { return state == 'Z' || state == 'X'; }
};

// Parses the text of /proc/<pid>/stat. The comm field (2) may hold spaces and parentheses, so
// the fields after it are split after the last ')'.
Result<ProcStat> ParseProcStat(std::string_view text);

// Reads a /proc file whole. (They report size 0, so the size cannot guide the read.) The error is
// strerror of the failed open or read.
Result<std::string> ReadProcFile(const std::string& path);

// Reads and parses /proc/<pid>/stat. "pid N is not running" when there is no such process.
Result<ProcStat> ReadProcStat(pid_t pid);

// True while the process group `pgid` has a member that is alive, or a zombie that this process
// must still reap. Zombies of other parents count as gone: they wait for that parent (init, for
// an adopted replica), which may reap them late or never. Cheap when the group is empty
// (kill(-pgid, 0)); otherwise scans /proc, so call it on a slow timer only.
bool GroupHasMembersLeft(pid_t pgid);

}  // namespace slipway::runtime
