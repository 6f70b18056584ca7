// OutputLog: captures a replica's stdout+stderr into a size-capped file. Each spawn gets a new
// pipe; the parent reads it on the io_context and appends to `path`. When the file passes
// `max_bytes` it is renamed to path + ".1" (replacing the previous one) and a new file is
// started. Appends across restarts of the replica and of the daemon.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace boost::asio {
class io_context;
}

namespace slipway::runtime {

class OutputLog {
 public:
  // `io` must outlive this log. An empty `path` discards the output.
  OutputLog(boost::asio::io_context& io, std::string path, std::uint64_t max_bytes);
  // Copies what the pipes still hold without blocking, then closes them.
  ~OutputLog();
  OutputLog(const OutputLog&) = delete;
  OutputLog& operator=(const OutputLog&) = delete;

  // Opens a new pipe and starts reading its read end; returns the write end, which the caller
  // hands to the child and then closes. Reading stops at EOF (all writers gone).
  Result<int> OpenPipe();

  struct File;    // the open log file, shared by the readers
  struct Reader;  // one pipe

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<File> file_;
  std::vector<std::weak_ptr<Reader>> readers_;
};

}  // namespace slipway::runtime
