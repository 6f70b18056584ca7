// What the runtime needs to start one replica process.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/log_relay.h"
#include "spec/app_spec.h"

namespace slipway::runtime {

using Millis = std::chrono::milliseconds;

struct LaunchSpec {
  std::string name;  // unique per replica, e.g. "hello-r3-0"
  // Names its cgroups (slipway/<cgroup_name>); "" = name. Must also be unique across daemons on
  // one host, which share the cgroup tree.
  std::string cgroup_name;
  std::string command;  // absolute path, executed with execve (no shell, no PATH lookup)
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // the whole environment (PORT included)
  std::string user = "nobody";
  std::optional<std::string> group;  // default: the user's primary group
  bool allow_root = false;           // refuse uid 0 unless true
  std::string workdir = "/";
  spec::Limits limits;
  // stdout+stderr go through a log relay (runtime/log_relay.h) into this file, one JSON record
  // per line labelled with `log_labels`; rotated to log_path + ".1" at log_max_bytes. Empty: the
  // output is discarded.
  std::string log_path;
  std::uint64_t log_max_bytes = 10 << 20;
  LogLabels log_labels;
  int stop_signal = 15;
  Millis grace_period{10'000};
};

// Which limits the kernel accepted for a replica; shown by `slipway status`.
struct LimitsReport {
  std::string cgroup_layout;  // "v1", "v2" or "none"
  bool memory_applied = false;
  bool cpu_applied = false;
  bool pids_applied = false;
  std::string note;  // why a requested limit could not be applied; empty when all were
};

}  // namespace slipway::runtime
