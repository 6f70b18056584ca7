#include "proxy/access_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iterator>
#include <utility>

#include <fmt/format.h>

#include "common/json_string.h"
#include "common/log.h"
#include "common/log_time.h"

namespace slipway::proxy {

constexpr log::Logger kLog{"proxy"};

AccessLog::AccessLog(std::string path, std::uint64_t max_bytes, std::size_t queue_limit)
    : path_(std::move(path)),
      max_bytes_(max_bytes),
      queue_limit_(queue_limit),
      writer_([this] { Run(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
  if (fd_ >= 0) ::close(fd_);
}

AccessLog::Shard& AccessLog::ShardOfThisThread() {
  static std::atomic<std::size_t> next_index{0};
  thread_local const std::size_t index = next_index.fetch_add(1) % kShards;
  return shards_[index];
}

void AccessLog::Push(AccessRecord record) {
  Shard& shard = ShardOfThisThread();
  std::size_t queued;
  {
    std::lock_guard lock(shard.mu);
    if (shard.queue.size() >= (queue_limit_ + kShards - 1) / kShards) {  // the limit, split
      ++shard.dropped;
      return;
    }
    shard.queue.push_back(std::move(record));
    ++shard.accepted;
    queued = shard.queue.size();
  }
  // A wake-up is a syscall, so it is rare: only for the first record after the writer went
  // idle (seq_cst with its store-then-recheck: either it sees this record or we see it idle),
  // or when a shard holds a large batch before the writer's next tick.
  if (writer_idle_.load() || queued == kWakeBatch) {
    std::lock_guard lock(mu_);
    wake_.notify_one();
  }
}

std::size_t AccessLog::TakeAll(std::vector<AccessRecord>& batch) {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    if (shard.queue.empty()) continue;
    if (batch.empty()) {
      batch.swap(shard.queue);
    } else {
      for (auto& r : shard.queue) batch.push_back(std::move(r));
      shard.queue.clear();
    }
  }
  return batch.size();
}

std::uint64_t AccessLog::Accepted() const {
  std::uint64_t total = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    total += shard.accepted;
  }
  return total;
}

void AccessLog::Flush() {
  const std::uint64_t target = Accepted();
  std::unique_lock lock(mu_);
  flush_asked_ = true;
  wake_.notify_one();
  written_.wait(lock, [&] { return handled_ >= target; });
}

std::uint64_t AccessLog::dropped() const {
  std::uint64_t total = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    total += shard.dropped;
  }
  std::lock_guard lock(mu_);
  return total + write_dropped_;
}

std::string_view AccessLog::PathWithoutQuery(std::string_view target) {
  return target.substr(0, target.find('?'));
}

namespace {

// A JSON string, or null for "" (see AppendJsonString).
void AppendJsonStringOrNull(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += "null";
    return;
  }
  AppendJsonString(out, s);
}

}  // namespace

// Formatted by hand: the writer thread shares two cores with the proxy, and a generic JSON
// object per line cost a quarter of the proxy's throughput with the log on (bench/proxy).
void AccessLog::AppendLine(std::string& out, const AccessRecord& r) {
  out += "{\"time\":\"";
  AppendLogTime(out, r.time);
  out += "\",\"request_id\":";
  AppendJsonStringOrNull(out, r.request_id);
  out += ",\"app\":";
  AppendJsonStringOrNull(out, r.app);
  out += ",\"method\":";
  AppendJsonStringOrNull(out, r.method);
  out += ",\"path\":";
  AppendJsonStringOrNull(out, r.path);
  fmt::format_to(std::back_inserter(out), ",\"status\":{},\"bytes_sent\":{},\"duration_ms\":{}",
                 r.status, r.bytes_sent, std::round(r.duration_ms * 1000) / 1000);
  out += ",\"upstream\":";
  AppendJsonStringOrNull(out, r.upstream);
  out += ",\"release\":";
  if (r.release > 0) {
    fmt::format_to(std::back_inserter(out), "{}", r.release);
  } else {
    out += "null";
  }
  out += ",\"client\":";
  AppendJsonStringOrNull(out, r.client);
  out += "}\n";
}

// The writer batches: after writing it sleeps one tick (kTick) so that, under load, each write
// carries many lines; when a tick brings nothing it sleeps until a Push wakes it.
void AccessLog::Run() {
  std::vector<AccessRecord> batch;
  std::string lines;
  bool idle = false;
  for (;;) {
    if (TakeAll(batch) == 0) {
      std::unique_lock lock(mu_);
      if (stopping_) {
        lock.unlock();
        if (TakeAll(batch) == 0) break;  // stopping, and everything is written
      } else {
        if (idle) writer_idle_.store(true);
        lock.unlock();
        const bool empty = TakeAll(batch) == 0;  // re-check after announcing it
        lock.lock();
        if (empty && !stopping_ && !flush_asked_) {
          // Idle: until a Push wakes it (the timeout only bounds a missed wake-up).
          wake_.wait_for(lock, idle ? std::chrono::milliseconds(1000) : kTick);
        }
        flush_asked_ = false;
        writer_idle_.store(false);
        lock.unlock();
        if (batch.empty() && TakeAll(batch) == 0) {
          idle = true;
          continue;
        }
      }
    }
    idle = false;
    lines.clear();
    for (const AccessRecord& record : batch) AppendLine(lines, record);
    WriteBatch(lines, batch.size());
    const std::size_t count = batch.size();
    batch.clear();
    std::unique_lock lock(mu_);
    handled_ += count;
    written_.notify_all();
    // One tick to gather the next batch, unless someone waits for it (Flush) or we stop.
    if (!stopping_ && !flush_asked_) wake_.wait_for(lock, kTick);
    flush_asked_ = false;
  }
}

bool AccessLog::OpenFile() {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    if (!reported_error_) {
      kLog.Error("access log: cannot open", {{"path", path_}, {"error", std::strerror(errno)}});
      reported_error_ = true;
    }
    return false;
  }
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  reported_error_ = false;
  return true;
}

void AccessLog::WriteBatch(const std::string& lines, std::size_t count) {
  auto drop = [&] {
    std::lock_guard lock(mu_);
    write_dropped_ += count;
  };
  if (fd_ < 0 && !OpenFile()) return drop();
  if (size_ > 0 && size_ + lines.size() > max_bytes_) {
    ::close(fd_);
    fd_ = -1;
    if (::rename(path_.c_str(), (path_ + ".1").c_str()) != 0) {
      kLog.Warn("access log: cannot rotate", {{"path", path_}, {"error", std::strerror(errno)}});
    }
    if (!OpenFile()) return drop();
  }
  std::size_t done = 0;
  while (done < lines.size()) {
    ssize_t n = ::write(fd_, lines.data() + done, lines.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!reported_error_) {
        kLog.Error("access log: write failed", {{"path", path_}, {"error", std::strerror(errno)}});
        reported_error_ = true;
      }
      drop();  // approximately: part of the batch may have been written
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  size_ += done;
}

}  // namespace slipway::proxy
