#include "runtime/process_usage.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "runtime/proc_stat.h"

namespace slipway::runtime {
namespace {

// The "btime" line of /proc/stat: boot time in seconds since the epoch; 0 when unreadable.
// Read once: it does not change while the system runs.
std::uint64_t BootTimeSeconds() {
  static const std::uint64_t boot = [] {
    Result<std::string> text = ReadProcFile("/proc/stat");
    if (!text) return std::uint64_t{0};
    const std::string_view s = *text;
    const std::size_t at = s.find("\nbtime ");
    if (at == std::string_view::npos) return std::uint64_t{0};
    const std::string_view rest = s.substr(at + 7);
    std::uint64_t value = 0;
    std::from_chars(rest.data(), rest.data() + rest.size(), value);
    return value;
  }();
  return boot;
}

}  // namespace

Result<ProcessUsage> ReadProcessUsage(pid_t pid) {
  Result<ProcStat> st = ReadProcStat(pid);
  if (!st) return st.error();
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const std::uint64_t page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  ProcessUsage usage;
  usage.cpu_seconds = static_cast<double>(st->utime + st->stime) / ticks;
  usage.resident_bytes = st->rss * page;
  usage.virtual_bytes = st->vsize;
  usage.start_time_seconds =
      static_cast<double>(BootTimeSeconds()) + static_cast<double>(st->start_time) / ticks;
  return usage;
}

Result<int> CountOpenFds(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return Error{"open " + path + ": " + std::strerror(errno)};
  int count = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++count;
  }
  closedir(dir);
  if (pid == getpid()) --count;  // the directory stream itself was one of ours
  return count;
}

}  // namespace slipway::runtime
