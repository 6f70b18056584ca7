// AccessLog: one JSON line per answered request, written off the request path.
//
// Proxy threads hand a small record to Push, which appends it to the calling thread's own shard
// (a vector behind a mutex that only that thread and the writer take: no lock shared across
// proxy threads, no syscall); one writer thread swaps the shards out, formats the lines and
// writes them in one batch, then sleeps a 20 ms tick so the next batch is a large one; only an
// idle writer is woken by Push (or a shard about to overflow). When a
// shard is full the record is dropped and counted: a slow disk never slows a request. The file is
// rotated by size: `<path>` is renamed to `<path>.1` (replacing the previous one) before a batch
// would take it past the maximum.
//
// A line: {"time":"2024-05-01T12:00:00.123Z","request_id":"...","app":"hello","method":"GET",
// "path":"/users","status":200,"bytes_sent":5,"duration_ms":0.42,"upstream":"hello-r3-0",
// "release":3,"client":"127.0.0.1"}. The query string is never logged (it may carry secrets).
// Internal to the proxy module.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace slipway::proxy {

struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the answer was written
  std::string request_id;                      // "" (logged as null): refused before one was set
  std::string app;
  std::string method;  // "" (null): the request head could not be read
  std::string path;    // the target without its query string
  unsigned status = 0;
  std::uint64_t bytes_sent = 0;  // response body bytes written to the client
  double duration_ms = 0;        // first request byte to the last response byte
  std::string upstream;          // backend id; "" (null): Slipway answered itself
  std::int64_t release = 0;      // the upstream's release; 0 (null) without an upstream
  std::string client;            // client IP
};

class AccessLog {
 public:
  static constexpr std::uint64_t kDefaultMaxBytes = std::uint64_t{64} << 20;
  static constexpr std::size_t kDefaultQueueLimit = 64 * 1024;  // records, over all shards

  // Starts the writer thread. The file (and its directory) is created on the first write.
  explicit AccessLog(std::string path, std::uint64_t max_bytes = kDefaultMaxBytes,
                     std::size_t queue_limit = kDefaultQueueLimit);
  // Writes every record pushed so far, then joins the writer thread.
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Thread-safe, never blocks on I/O. Drops (and counts) the record when the queue is full.
  void Push(AccessRecord record);
  // Returns once every record pushed before the call is written (or failed to be).
  void Flush();
  // Records dropped so far: queue full, or the file could not be written.
  std::uint64_t dropped() const;

  // `path` without its query string.
  static std::string_view PathWithoutQuery(std::string_view target);
  // One JSON line, ending in '\n'.
  static void AppendLine(std::string& out, const AccessRecord& record);

 private:
  void Run();
  void WriteBatch(const std::string& lines, std::size_t count);
  bool OpenFile();

  const std::string path_;
  const std::uint64_t max_bytes_;
  const std::size_t queue_limit_;

  // One per pushing thread (by a thread-local index, modulo kShards).
  static constexpr std::size_t kShards = 16;
  struct alignas(64) Shard {
    std::mutex mu;
    std::vector<AccessRecord> queue;  // guarded by mu
    std::uint64_t accepted = 0;       // guarded by mu: records queued, ever
    std::uint64_t dropped = 0;        // guarded by mu
  };
  Shard& ShardOfThisThread();
  // Swaps every shard's records into `batch`; returns how many.
  std::size_t TakeAll(std::vector<AccessRecord>& batch);
  std::uint64_t Accepted() const;

  mutable Shard shards_[kShards];
  // The writer sleeps this long after a batch, so busy periods make few large writes.
  static constexpr std::chrono::milliseconds kTick{20};
  // A shard this full wakes the writer before its tick ends.
  static constexpr std::size_t kWakeBatch = 1024;
  std::atomic<bool> writer_idle_{false};  // asleep until woken: the next Push wakes it

  mutable std::mutex mu_;            // the writer's: sleeping, stopping, Flush
  std::condition_variable wake_;     // writer: records queued, or stopping
  std::condition_variable written_;  // Flush: `handled_` moved
  std::uint64_t handled_ = 0;        // guarded by mu_: records the writer finished with
  std::uint64_t write_dropped_ = 0;  // guarded by mu_: lost to a failed write
  bool stopping_ = false;            // guarded by mu_
  bool flush_asked_ = false;         // guarded by mu_: a Flush waits; do not sleep a tick

  // Writer thread only.
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool reported_error_ = false;

  std::thread writer_;  // last: starts after everything above is initialised
};

}  // namespace slipway::proxy
