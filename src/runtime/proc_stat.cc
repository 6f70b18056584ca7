#include "runtime/proc_stat.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

namespace slipway::runtime {
namespace {

// Fields counted from 3 (state), the first one after the comm.
constexpr int kPpid = 4 - 3;
constexpr int kPgrp = 5 - 3;
constexpr int kUtime = 14 - 3;
constexpr int kStime = 15 - 3;
constexpr int kStartTime = 22 - 3;
constexpr int kVsize = 23 - 3;
constexpr int kRss = 24 - 3;
constexpr int kExitCode = 52 - 3;

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// Reads `path` whole into `out`; returns 0 or the errno of the failed open or read.
int ReadInto(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[4096];
  int err = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    out->append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return err;
}

}  // namespace

Result<ProcStat> ParseProcStat(std::string_view text) {
  std::size_t close_paren = text.rfind(')');
  if (close_paren == std::string_view::npos) return Error{"no comm field in /proc stat"};
  std::string_view rest = text.substr(close_paren + 1);
  ProcStat st;
  int field = 0;
  std::size_t pos = 0;
  while (pos < rest.size()) {
    while (pos < rest.size() && (rest[pos] == ' ' || rest[pos] == '\n')) ++pos;
    std::size_t end = pos;
    while (end < rest.size() && rest[end] != ' ' && rest[end] != '\n') ++end;
    if (end == pos) break;
    std::string_view v = rest.substr(pos, end - pos);
    bool ok = true;
    if (field == 0) {
      st.state = v[0];
    } else if (field == kPpid) {
      ok = ParseInt(v, &st.ppid);
    } else if (field == kPgrp) {
      ok = ParseInt(v, &st.pgrp);
    } else if (field == kUtime) {
      ok = ParseInt(v, &st.utime);
    } else if (field == kStime) {
      ok = ParseInt(v, &st.stime);
    } else if (field == kStartTime) {
      ok = ParseInt(v, &st.start_time);
    } else if (field == kVsize) {
      ok = ParseInt(v, &st.vsize);
    } else if (field == kRss) {
      ok = ParseInt(v, &st.rss);
    } else if (field == kExitCode) {
      int code = 0;
      ok = ParseInt(v, &code);
      st.exit_code = code;
    }
    if (!ok) return Error{"bad field " + std::to_string(field + 3) + " in /proc stat"};
    ++field;
    pos = end;
  }
  if (field <= kStartTime)
    return Error{"/proc stat has only " + std::to_string(field + 2) + " fields"};
  return st;
}

Result<std::string> ReadProcFile(const std::string& path) {
  std::string text;
  if (int err = ReadInto(path, &text)) return Error{std::strerror(err)};
  return text;
}

Result<ProcStat> ReadProcStat(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::string text;
  int err = ReadInto(path, &text);
  // ENOENT: no such pid; ESRCH or an empty read: it was reaped while we read.
  if (err == ENOENT || err == ESRCH || (err == 0 && text.empty())) {
    return Error{"pid " + std::to_string(pid) + " is not running"};
  }
  if (err != 0) return Error{"read " + path + ": " + std::strerror(err)};
  Result<ProcStat> st = ParseProcStat(text);
  if (!st) return Error{"pid " + std::to_string(pid) + ": " + st.error().message};
  return st;
}

bool GroupHasMembersLeft(pid_t pgid) {
  if (pgid <= 0) return false;
  if (kill(-pgid, 0) != 0 && errno == ESRCH) return false;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return true;  // cannot tell: assume alive, the caller polls again
  const pid_t self = getpid();
  bool left = false;
  while (dirent* e = readdir(proc)) {
    pid_t pid = 0;
    if (!ParseInt(std::string_view(e->d_name), &pid)) continue;
    Result<ProcStat> st = ReadProcStat(pid);
    if (st && st->pgrp == pgid && (!st->dead() || st->ppid == self)) {
      left = true;
      break;
    }
  }
  closedir(proc);
  return left;
}

}  // namespace slipway::runtime
