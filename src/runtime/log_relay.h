// The log relay: a small process per replica run (`slipway log-relay ...`, the same binary) that
// sits between the replica's stdout/stderr pipes and its log file, like Nomad's logmon or
// Podman's conmon. It wraps each line into one JSON record
//   {"time":"2026-05-01T12:00:00.123Z","app":"hello","release":3,"replica":0,
//    "stream":"stdout","message":"listening on 127.0.0.1:8080"}
// (a piece of a line longer than kMaxLine, or a last line without its newline, carries
// "partial":true, as Docker marks them), writes every batch it reads before reading again, owns
// the file and rotates it itself by rename (path -> path.1) so that no line is lost, and exits
// once both pipes reach EOF (every process of the replica closed them). It is not the daemon's:
// it survives a daemon crash with its replica, ignores SIGTERM/SIGINT/SIGHUP/SIGPIPE (it ends
// only when its replica's output does), and holds no descriptor but its pipes, its file and
// stderr. docs/logs.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace slipway::runtime {

// Who a record comes from.
struct LogLabels {
  std::string app;
  std::int64_t release = 0;
  int replica = 0;
};

// Turns the bytes of one stream into records, keeping an unfinished line for the next Feed.
// Pure: no I/O, no clock.
class LineFramer {
 public:
  static constexpr std::size_t kMaxLine = 16 << 10;

  LineFramer(const LogLabels& labels, std::string_view stream, std::size_t max_line = kMaxLine);

  // Appends a record ("...}\n") for each complete line in `data` (after what earlier Feeds left)
  // and for each kMaxLine piece of an over-long one (partial), stamped `time`.
  void Feed(std::string_view data, std::string_view time, std::string& out);
  // The stream ended: the unterminated rest, if any, as a partial record.
  void Finish(std::string_view time, std::string& out);

 private:
  void Line(std::string_view line, std::string_view time, std::string& out);
  void Record(std::string_view message, bool partial, std::string_view time, std::string& out);

  std::string head_;  // ","app":...,"message": after the time
  std::size_t max_line_;
  std::string pending_;  // bytes of an unfinished line
};

// An append-only file capped by rename: before a write would take it past `max_bytes`, `path` is
// renamed to `path + ".1"` (replacing the previous one) and a new file is started. Whole records
// are never split across the two files. `max_bytes` 0: no cap. Not thread-safe.
class RotatingLogFile {
 public:
  RotatingLogFile(std::string path, std::uint64_t max_bytes);
  ~RotatingLogFile();
  RotatingLogFile(const RotatingLogFile&) = delete;
  RotatingLogFile& operator=(const RotatingLogFile&) = delete;

  // Appends `records` (whole lines). An error means (some of) them were not written; the next
  // call tries to open the file again.
  Status Append(std::string_view records);

 private:
  Status Open();
  Status WriteChunk(std::string_view chunk);

  const std::string path_;
  const std::uint64_t max_bytes_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

struct LogRelayOptions {
  LogLabels labels;
  std::string path;             // the replica's log file
  std::uint64_t max_bytes = 0;  // the cap; 0: none
  int stdout_fd = -1;           // read ends of the replica's pipes; -1: none
  int stderr_fd = -1;
};

// The relay's loop: runs until both fds reach EOF, then returns 0. Failures to write the file are
// reported on stderr (once until a write succeeds again) and the output read meanwhile is
// dropped: the replica never blocks on a broken log directory.
int RunLogRelay(const LogRelayOptions& options);

// `slipway log-relay --path P --max-bytes N --app A --release R --replica I`, with the replica's
// stdout on fd 3 and its stderr on fd 4: what a binary's main hands over when its first argument
// is "log-relay" (`args` are the ones after it). 2 on bad arguments.
int LogRelayMain(int argc, char** argv);

// The process that SpawnLogRelay starts and the pipes to give the replica.
struct LogRelayProcess {
  int pid = 0;
  int stdout_fd = -1;  // write ends, close-on-exec: the caller passes them to the replica and
  int stderr_fd = -1;  // closes them
};

// Starts a relay: `program` (default "/proc/self/exe", i.e. this binary; it must dispatch
// "log-relay" to LogRelayMain) in a session of its own, with exactly fds 0 (/dev/null), 2 (our
// stderr), 3 and 4 (the pipes' read ends), and default signal dispositions. The caller must
// reap it (WatchChild under a ReapGuard held across this call).
Result<LogRelayProcess> SpawnLogRelay(const LogRelayOptions& options,
                                      const std::string& program = "/proc/self/exe");

}  // namespace slipway::runtime
