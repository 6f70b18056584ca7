// ProcessUsage: what a process costs right now (CPU time so far, memory), read from
// /proc/<pid>/stat, for the metrics of the replicas and of the daemon itself.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "common/result.h"

namespace slipway::runtime {

struct ProcessUsage {
  double cpu_seconds = 0;            // user + system, since the process started
  std::uint64_t resident_bytes = 0;  // resident set
  std::uint64_t virtual_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch (boot time + start ticks)
};

// The usage of `pid` (the process alone, not its children). An error when it is not running.
Result<ProcessUsage> ReadProcessUsage(pid_t pid);

// How many file descriptors `pid` has open (the entries of /proc/<pid>/fd).
Result<int> CountOpenFds(pid_t pid);

}  // namespace slipway::runtime
