// Starting one replica process: synchronous and free of Asio so it can be tested alone.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"
#include "runtime/cgroups.h"
#include "runtime/launch_spec.h"

namespace slipway::runtime {

// Who the process runs as, resolved from LaunchSpec::user / group (names or numbers).
struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;  // as given, for messages
};

// Resolves user and group. Errors (unknown user or group, uid 0 without allow_root) cannot heal
// by retrying, unlike exec failures.
Result<Credentials> ResolveCredentials(const LaunchSpec& spec);

struct SpawnedProcess {
  pid_t pid = 0;  // also the process group id: the child leads its own group
};

// Forks and execs spec.command as the resolved user, in its own process group, with exactly
// spec.env, stdin from /dev/null, stdout on `stdout_fd` and stderr on `stderr_fd` (normally the
// pipes of its log relay; not closed here), the rlimits of spec.limits and PR_SET_NO_NEW_PRIVS.
// Joins the cgroups in `cgroups` (may be null) before exec. There is deliberately no parent-death
// signal: the process outlives the caller (see ProcessReplica::Adopt). Returns once the exec
// happened; a failure in the child ("exec /x/hello as nobody: Permission denied") is returned as an
// Error after the child was reaped. The caller reaps a successful child.
Result<SpawnedProcess> SpawnProcess(const LaunchSpec& spec, const CgroupPaths* cgroups,
                                    int stdout_fd, int stderr_fd);
// Both streams on `output_fd`.
inline Result<SpawnedProcess> SpawnProcess(const LaunchSpec& spec, const CgroupPaths* cgroups,
                                           int output_fd) {
  return SpawnProcess(spec, cgroups, output_fd, output_fd);
}

}  // namespace slipway::runtime
