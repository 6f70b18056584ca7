#include "proxy/access_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <utility>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace slipway::proxy {

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
  {
    std::lock_guard lock(shard.mu);
    if (shard.queue.size() >= (queue_limit_ + kShards - 1) / kShards) {  // the limit, split
      ++shard.dropped;
      return;
    }
    shard.queue.push_back(std::move(record));
    ++shard.accepted;
  }
  // seq_cst with the writer's store-then-recheck: either it sees this record or we see it
  // asleep. Only then is a wake-up (a syscall) needed.
  if (writer_sleeping_.load()) {
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

// "2024-05-01T12:00:00.123Z" (UTC, milliseconds).
std::string Rfc3339Millis(std::chrono::system_clock::time_point time) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(time);
  const auto seconds = std::chrono::floor<std::chrono::seconds>(ms);
  const std::time_t t = std::chrono::system_clock::to_time_t(seconds);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", utc, (ms - seconds).count());
}

}  // namespace

void AccessLog::AppendLine(std::string& out, const AccessRecord& r) {
  auto string_or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
  };
  nlohmann::ordered_json line = {
      {"ts", Rfc3339Millis(r.time)},
      {"request_id", string_or_null(r.request_id)},
      {"app", r.app},
      {"method", string_or_null(r.method)},
      {"path", string_or_null(r.path)},
      {"status", r.status},
      {"bytes_sent", r.bytes_sent},
      {"duration_ms", std::round(r.duration_ms * 1000) / 1000},  // microsecond precision
      {"upstream", string_or_null(r.upstream)},
      {"release", r.release > 0 ? nlohmann::ordered_json(r.release) : nullptr},
      {"client", string_or_null(r.client)},
  };
  // A path may hold bytes that are not UTF-8: replace them rather than lose the line.
  out += line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  out += '\n';
}

void AccessLog::Run() {
  std::vector<AccessRecord> batch;
  std::string lines;
  for (;;) {
    if (TakeAll(batch) == 0) {
      std::unique_lock lock(mu_);
      if (stopping_) {
        lock.unlock();
        if (TakeAll(batch) == 0) break;  // stopping, and everything is written
      } else {
        writer_sleeping_.store(true);
        lock.unlock();
        const bool empty = TakeAll(batch) == 0;  // re-check after announcing the sleep
        lock.lock();
        // The timeout only bounds a missed wake-up; Push wakes a sleeping writer at once.
        if (empty && !stopping_) wake_.wait_for(lock, std::chrono::milliseconds(200));
        writer_sleeping_.store(false);
        lock.unlock();
        if (batch.empty() && TakeAll(batch) == 0) continue;
      }
    }
    lines.clear();
    for (const AccessRecord& record : batch) AppendLine(lines, record);
    WriteBatch(lines, batch.size());
    const std::size_t count = batch.size();
    batch.clear();
    std::lock_guard lock(mu_);
    handled_ += count;
    written_.notify_all();
  }
}

bool AccessLog::OpenFile() {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    if (!reported_error_) {
      log::Error("access log: cannot open", {{"path", path_}, {"error", std::strerror(errno)}});
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
      log::Warn("access log: cannot rotate", {{"path", path_}, {"error", std::strerror(errno)}});
    }
    if (!OpenFile()) return drop();
  }
  std::size_t done = 0;
  while (done < lines.size()) {
    ssize_t n = ::write(fd_, lines.data() + done, lines.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!reported_error_) {
        log::Error("access log: write failed", {{"path", path_}, {"error", std::strerror(errno)}});
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
