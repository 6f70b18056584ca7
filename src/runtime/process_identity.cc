#include "runtime/process_identity.h"

#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "runtime/proc_stat.h"

namespace slipway::runtime {
namespace {

// True when the NUL-separated `environ` holds exactly `entry`.
bool HasEntry(const std::string& environ, const std::string& entry) {
  std::size_t pos = 0;
  while (pos < environ.size()) {
    std::size_t end = environ.find('\0', pos);
    if (end == std::string::npos) end = environ.size();
    if (environ.compare(pos, end - pos, entry) == 0) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace

std::string NewReplicaToken() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      // Not reachable with a kernel that has getrandom (3.17+); /dev/urandom as a fallback.
      std::ifstream in("/dev/urandom", std::ios::binary);
      in.read(reinterpret_cast<char*>(bytes + got),
              static_cast<std::streamsize>(sizeof bytes - got));
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 0xf];
  }
  return token;
}

Result<std::string> ReadBootId() {
  Result<std::string> text = ReadProcFile("/proc/sys/kernel/random/boot_id");
  if (!text) return Error{"read boot id: " + text.error().message};
  std::string id = *text;
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  if (id.empty()) return Error{"read boot id: empty"};
  return id;
}

Result<ProcessIdentity> ReadIdentity(int pid) {
  Result<ProcStat> st = ReadProcStat(pid);
  if (!st) return st.error();
  Result<std::string> boot = ReadBootId();
  if (!boot) return boot.error();
  ProcessIdentity id;
  id.pid = pid;
  id.start_time = st->start_time;
  id.boot_id = *boot;
  return id;
}

Status VerifyIdentity(const ProcessIdentity& expected) {
  const std::string who = "pid " + std::to_string(expected.pid);
  if (expected.pid <= 0) return Error{who + " is not a process id"};
  if (expected.token.empty()) return Error{who + ": the identity has no token to check"};
  Result<std::string> boot = ReadBootId();
  if (!boot) return boot.error();
  if (*boot != expected.boot_id) {
    return Error{who + " was started before a reboot (boot id " + expected.boot_id + ", now " +
                 *boot + ")"};
  }
  Result<ProcStat> st = ReadProcStat(expected.pid);
  if (!st) return st.error();
  if (st->dead()) return Error{who + " has exited (zombie)"};
  if (st->start_time != expected.start_time) {
    return Error{who + " was started at a different time: another process reuses the pid"};
  }
  Result<std::string> environ = ReadProcFile("/proc/" + std::to_string(expected.pid) + "/environ");
  if (!environ) return Error{"read the environment of " + who + ": " + environ.error().message};
  if (!HasEntry(*environ, std::string(kReplicaTokenEnv) + "=" + expected.token)) {
    return Error{who + " does not carry the replica's token: not the process that was spawned"};
  }
  // A process that exits right after these reads is the caller's to notice (Adopt: its pidfd).
  return Ok();
}

}  // namespace slipway::runtime
