// ExecOutcome: how one command run to completion (or not) inside a replica ended. The runtime
// produces it (a spawned process, a Docker exec); health turns it into a probe verdict.
#pragma once

#include <optional>
#include <string>

namespace slipway {

struct ExecOutcome {
  std::string error;             // set when the command could not be run at all
  bool timed_out = false;        // killed after the timeout
  std::optional<int> exit_code;  // when it exited normally
  std::optional<int> signal;     // when a signal ended it
  std::string output;            // the start of its stdout and stderr, interleaved
};

// At most this much output is kept.
inline constexpr std::size_t kExecOutputKept = 4096;

}  // namespace slipway
