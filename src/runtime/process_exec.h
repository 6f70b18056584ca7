// RunProcessExec: one command run the way a replica process runs (its user and group, its
// environment, workdir and rlimits, inside its cgroups), with a deadline: what an exec probe of
// a process replica does. Its output is captured (the start of it), it is reaped through the
// ChildReaper, and on the deadline its whole process group is SIGKILLed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/exec_outcome.h"
#include "runtime/cgroups.h"
#include "runtime/launch_spec.h"

namespace boost::asio {
class io_context;
}

namespace slipway::runtime {

// `argv[0]` is a path, or a name looked up in the replica's PATH. `cgroups` may be null and is
// only used during this call. `done` runs once on `io`; never from inside this call.
void RunProcessExec(boost::asio::io_context& io, const LaunchSpec& replica,
                    const CgroupPaths* cgroups, std::vector<std::string> argv, Millis timeout,
                    std::function<void(ExecOutcome)> done);

}  // namespace slipway::runtime
