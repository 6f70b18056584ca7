// RunDockerExec: one command run inside a running container through the Engine API, as an exec
// probe does: POST /containers/ID/exec (Cmd, AttachStdout/Stderr, User), POST /exec/ID/start
// (not detached: the multiplexed output streams until the command ends), GET /exec/ID/json for
// its ExitCode. The Engine API cannot kill an exec; on the deadline its process (Pid from the
// exec's inspect, a host pid: the daemon runs on the engine's host) gets SIGKILL.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/exec_outcome.h"
#include "runtime/docker_engine.h"
#include "runtime/launch_spec.h"

namespace slipway::runtime {

// `user` "" runs as the container's own user. `engine` must outlive the run; `done` runs once on
// the engine's io_context, never from inside this call.
void RunDockerExec(DockerEngine* engine, const std::string& container_id, const std::string& user,
                   std::vector<std::string> argv, Millis timeout,
                   std::function<void(ExecOutcome)> done);

}  // namespace slipway::runtime
