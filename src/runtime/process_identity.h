// ProcessIdentity: what tells a replica process apart from every other process that may get
// its pid later, so that a restarted daemon re-adopts its replicas and never signals a stranger.
// A pid alone is not enough (pids are reused); pid + start time is unique within one boot; the
// boot id rules out a reboot; the token, a random value in the replica's environment, proves the
// process is the one Slipway spawned and not merely one started in the same clock tick.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace slipway::runtime {

// The environment variable that carries a replica's token.
inline constexpr char kReplicaTokenEnv[] = "SLIPWAY_REPLICA_TOKEN";

struct ProcessIdentity {
  int pid = 0;
  std::uint64_t start_time = 0;  // /proc/<pid>/stat field 22, clock ticks since boot
  std::string boot_id;           // /proc/sys/kernel/random/boot_id
  std::string token;             // random per spawn; also SLIPWAY_REPLICA_TOKEN in its env

  bool operator==(const ProcessIdentity&) const = default;
};

// A new token: 16 random bytes from getrandom, as 32 lowercase hex characters.
std::string NewReplicaToken();

// This boot's id (the kernel's boot_id, without the newline).
Result<std::string> ReadBootId();

// pid, start time and boot id of a process (a zombie's too: VerifyIdentity is the check); the
// token is left empty (it is set by the spawner, not read back). "pid N is not running" when
// there is none.
Result<ProcessIdentity> ReadIdentity(int pid);

// Ok when `expected.pid` is alive and is the process `expected` describes: the same boot, the
// same start time, and SLIPWAY_REPLICA_TOKEN=<token> in its initial environment
// (/proc/<pid>/environ; a process that rewrites its own environment block loses the proof).
// Otherwise an Error saying which part differs, e.g. "pid 123 was started at a different time:
// another process reuses the pid". A zombie counts as gone. Reading another user's environ needs
// CAP_SYS_PTRACE (the daemon runs as root).
Status VerifyIdentity(const ProcessIdentity& expected);

}  // namespace slipway::runtime
