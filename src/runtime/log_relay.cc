#include "runtime/log_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "common/json_string.h"
#include "common/log.h"
#include "common/log_time.h"

extern char** environ;

namespace slipway::runtime {

constexpr log::Logger kLog{"log-relay"};

namespace {

constexpr std::size_t kReadChunk = 64 << 10;
constexpr int kRelayStdoutFd = 3;
constexpr int kRelayStderrFd = 4;

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Where to cut `s` (longer than `max`) so that the first piece is at most `max` bytes and the
// next does not start inside a UTF-8 sequence (when `s` is UTF-8 there).
std::size_t CutAt(std::string_view s, std::size_t max) {
  std::size_t cut = max;
  for (int back = 0; back < 3 && cut > 0 && IsContinuation(s[cut]); ++back) --cut;
  return cut == 0 || IsContinuation(s[cut]) ? max : cut;
}

template <typename T>
bool ParseInt(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace

LineFramer::LineFramer(const LogLabels& labels, std::string_view stream, std::size_t max_line)
    : max_line_(max_line) {
  head_ = "\",\"app\":";
  AppendJsonString(head_, labels.app);
  head_ += ",\"release\":" + std::to_string(labels.release);
  head_ += ",\"replica\":" + std::to_string(labels.replica);
  head_ += ",\"stream\":";
  AppendJsonString(head_, stream);
  head_ += ",\"message\":";
}

void LineFramer::Record(std::string_view message, bool partial, std::string_view time,
                        std::string& out) {
  out += "{\"time\":\"";
  out += time;
  out += head_;
  AppendJsonString(out, message);
  if (partial) out += ",\"partial\":true";
  out += "}\n";
}

void LineFramer::Line(std::string_view line, std::string_view time, std::string& out) {
  while (line.size() > max_line_) {
    std::size_t cut = CutAt(line, max_line_);
    Record(line.substr(0, cut), true, time, out);
    line.remove_prefix(cut);
  }
  Record(line, false, time, out);
}

void LineFramer::Feed(std::string_view data, std::string_view time, std::string& out) {
  while (!data.empty()) {
    std::size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      pending_.append(data);
      break;
    }
    if (pending_.empty()) {
      Line(data.substr(0, nl), time, out);
    } else {
      pending_.append(data.substr(0, nl));
      Line(pending_, time, out);
      pending_.clear();
    }
    data.remove_prefix(nl + 1);
  }
  // An unfinished line that is already too long goes out in pieces now; the rest waits.
  std::size_t used = 0;
  while (pending_.size() - used > max_line_) {
    std::string_view rest = std::string_view(pending_).substr(used);
    std::size_t cut = CutAt(rest, max_line_);
    Record(rest.substr(0, cut), true, time, out);
    used += cut;
  }
  pending_.erase(0, used);
}

void LineFramer::Finish(std::string_view time, std::string& out) {
  if (!pending_.empty()) Record(pending_, true, time, out);
  pending_.clear();
}

RotatingLogFile::RotatingLogFile(std::string path, std::uint64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {}

RotatingLogFile::~RotatingLogFile() {
  if (fd_ >= 0) close(fd_);
}

Status RotatingLogFile::Open() {
  fd_ = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return Error{"open " + path_ + ": " + std::strerror(errno)};
  struct stat st {};
  size_ = fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  return Ok();
}

Status RotatingLogFile::WriteChunk(std::string_view chunk) {
  while (!chunk.empty()) {
    ssize_t n = write(fd_, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string err = std::strerror(n < 0 ? errno : EIO);
      close(fd_);
      fd_ = -1;
      return Error{"write " + path_ + ": " + err};
    }
    size_ += static_cast<std::uint64_t>(n);
    chunk.remove_prefix(static_cast<std::size_t>(n));
  }
  return Ok();
}

Status RotatingLogFile::Append(std::string_view records) {
  if (fd_ < 0) {
    if (Status st = Open(); !st) return st;
  }
  while (!records.empty()) {
    // The longest run of whole records that still fits under the cap (at least one record).
    std::size_t take = records.size();
    if (max_bytes_ > 0 && size_ + take > max_bytes_) {
      std::size_t room = size_ < max_bytes_ ? static_cast<std::size_t>(max_bytes_ - size_) : 0;
      std::size_t end = room == 0 ? std::string_view::npos : records.rfind('\n', room - 1);
      if (end == std::string_view::npos) {
        if (size_ > 0) {
          // Not even one more record fits: start a new file.
          close(fd_);
          fd_ = -1;
          if (std::rename(path_.c_str(), (path_ + ".1").c_str()) != 0) {
            return Error{"rename " + path_ + ": " + std::strerror(errno)};
          }
          if (Status st = Open(); !st) return st;
          continue;
        }
        // One record larger than the cap: alone in its file.
        end = records.find('\n');
        take = end == std::string_view::npos ? records.size() : end + 1;
      } else {
        take = end + 1;
      }
    }
    if (Status st = WriteChunk(records.substr(0, take)); !st) return st;
    records.remove_prefix(take);
  }
  return Ok();
}

int RunLogRelay(const LogRelayOptions& o) {
  // Only the end of the replica's output ends the relay (see the header).
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) signal(sig, SIG_IGN);
  struct Stream {
    int fd;
    LineFramer framer;
  };
  std::vector<Stream> streams;
  if (o.stdout_fd >= 0) streams.push_back({o.stdout_fd, LineFramer(o.labels, "stdout")});
  if (o.stderr_fd >= 0) streams.push_back({o.stderr_fd, LineFramer(o.labels, "stderr")});
  RotatingLogFile file(o.path, o.max_bytes);
  bool failing = false;
  auto write = [&](const std::string& records) {
    if (records.empty() || o.path.empty()) return;
    Status st = file.Append(records);
    if (!st && !failing) {
      kLog.Error("cannot write a replica's log; its output is dropped until it can",
                 {{"app", o.labels.app},
                  {"release", o.labels.release},
                  {"replica", o.labels.replica},
                  {"error", st.error().message}});
    }
    failing = !st;
  };
  std::vector<char> buf(kReadChunk);
  std::string records;
  std::string time;
  std::size_t open_streams = streams.size();
  while (open_streams > 0) {
    std::vector<pollfd> fds;
    for (const Stream& s : streams) fds.push_back({s.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    records.clear();
    time.clear();
    AppendLogTime(time, std::chrono::system_clock::now());
    for (std::size_t i = 0; i < streams.size(); ++i) {
      Stream& s = streams[i];
      if (s.fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(s.fd, buf.data(), buf.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        s.framer.Finish(time, records);
        close(s.fd);
        s.fd = -1;
        --open_streams;
        continue;
      }
      s.framer.Feed(std::string_view(buf.data(), static_cast<std::size_t>(n)), time, records);
    }
    write(records);
    // A closed stream's entry stays with fd -1, which poll ignores.
  }
  return 0;
}

int LogRelayMain(int argc, char** argv) {
  LogRelayOptions o;
  o.stdout_fd = kRelayStdoutFd;
  o.stderr_fd = kRelayStderrFd;
  for (int i = 0; i + 1 < argc; i += 2) {
    std::string_view key = argv[i];
    std::string_view value = argv[i + 1];
    bool ok = true;
    if (key == "--path") {
      o.path = value;
    } else if (key == "--max-bytes") {
      ok = ParseInt(value, o.max_bytes);
    } else if (key == "--app") {
      o.labels.app = value;
    } else if (key == "--release") {
      ok = ParseInt(value, o.labels.release);
    } else if (key == "--replica") {
      ok = ParseInt(value, o.labels.replica);
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "slipway log-relay: bad argument %s %s\n", argv[i], argv[i + 1]);
      return 2;
    }
  }
  if (argc % 2 != 0 || o.path.empty()) {
    std::fprintf(stderr,
                 "usage: slipway log-relay --path P [--max-bytes N] [--app A] [--release R] "
                 "[--replica I]  (replica stdout on fd 3, stderr on fd 4)\n");
    return 2;
  }
  return RunLogRelay(o);
}

Result<LogRelayProcess> SpawnLogRelay(const LogRelayOptions& o, const std::string& program) {
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd : {out[0], out[1], err[0], err[1]}) {
      if (fd >= 0) close(fd);
    }
  };
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    std::string why = std::strerror(errno);
    close_all();
    return Error{"log relay pipes: " + why};
  }
  std::vector<std::string> args = {"slipway-log-relay",
                                   "log-relay",
                                   "--path",
                                   o.path,
                                   "--max-bytes",
                                   std::to_string(o.max_bytes),
                                   "--app",
                                   o.labels.app,
                                   "--release",
                                   std::to_string(o.labels.release),
                                   "--replica",
                                   std::to_string(o.labels.replica)};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  // fd 0 from /dev/null, fd 1 to /dev/null, fd 2 stays ours (the daemon's log), 3 and 4 the
  // pipes (dup2 clears close-on-exec), nothing else: no listening socket, no state database.
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[0], kRelayStdoutFd);
  posix_spawn_file_actions_adddup2(&actions, err[0], kRelayStderrFd);
  posix_spawn_file_actions_addclosefrom_np(&actions, kRelayStderrFd + 1);
  // Its own session: a terminal's ^C or a signal to the daemon's group does not reach it. The
  // daemon's blocked signals and handlers do not leak into it.
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out[0]);
  close(err[0]);
  out[0] = err[0] = -1;
  if (rc != 0) {
    close_all();
    return Error{"start the log relay " + program + ": " + std::strerror(rc)};
  }
  return LogRelayProcess{pid, out[1], err[1]};
}

}  // namespace slipway::runtime
