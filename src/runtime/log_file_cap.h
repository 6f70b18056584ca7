// LogFileCap: keeps a replica's log file under a size cap while the replica writes into it
// directly. The child's stdout+stderr are the log file itself (opened O_APPEND by the parent),
// not a pipe the daemon reads: a pipe's reader dies with the daemon and the replica would then
// block or die of SIGPIPE, while a file keeps taking its output with no daemon alive.
//
// The cap is enforced by copy-truncate, as logrotate's copytruncate does: a timer on the
// io_context checks the size; once it is at or over `max_bytes` the content is copied to
// path + ".1" (replacing the previous copy) and the file is truncated to 0. The replica keeps its
// descriptor and, thanks to O_APPEND, continues at the new end of the file. Limits of the scheme:
//  - output written between the end of the copy and the truncate (microseconds) is lost;
//  - the file (and so its .1 copy) may pass `max_bytes` by what the replica writes in one check
//    interval;
//  - a replica that clears O_APPEND on its stdout keeps writing at its old offset (sparse file).
// Not thread-safe; lives on one io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"

namespace boost::asio {
class io_context;
}

namespace slipway::runtime {

class LogFileCap {
 public:
  static constexpr std::chrono::milliseconds kDefaultCheckInterval{1000};

  // `io` must outlive this object. An empty `path` discards the output; `max_bytes` 0 disables
  // the cap.
  LogFileCap(boost::asio::io_context& io, std::string path, std::uint64_t max_bytes,
             std::chrono::milliseconds check_interval = kDefaultCheckInterval);
  ~LogFileCap();  // stops the checks; the file stays
  LogFileCap(const LogFileCap&) = delete;
  LogFileCap& operator=(const LogFileCap&) = delete;

  // Opens the log for a child's stdout+stderr (O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0640);
  // the caller hands it to the child and closes it. When the file cannot be opened the child
  // gets /dev/null (a warning is logged): a broken log directory must not keep replicas down.
  Result<int> OpenForChild();
  // Starts checking the size every check interval (again after Stop()); idempotent.
  void Start();
  void Stop();
  // Checks once now; copy-truncates if the file is at or over the cap. True if it did.
  bool CheckNow();

  const std::string& path() const;

 private:
  struct State;  // shared with the timer's handler, which may outlive this object
  std::shared_ptr<State> state_;
};

}  // namespace slipway::runtime
