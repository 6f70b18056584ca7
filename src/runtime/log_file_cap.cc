#include "runtime/log_file_cap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/log.h"

namespace slipway::runtime {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kCopyChunk = 64 << 10;

bool WriteAll(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Copies `src` up to its end *as it is when the last read returns 0*: bytes appended during the
// copy are copied too, which keeps the loss window before the truncate short. Stops after
// `limit` bytes, so a replica writing faster than the copy cannot keep it going for ever.
bool CopyToEnd(int src, int dst, off_t limit) {
  std::vector<char> buf(kCopyChunk);
  off_t offset = 0;
  while (offset < limit) {
    std::size_t want = static_cast<std::size_t>(std::min<off_t>(limit - offset, kCopyChunk));
    ssize_t n = pread(src, buf.data(), want, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    if (!WriteAll(dst, buf.data(), static_cast<std::size_t>(n))) return false;
    offset += n;
  }
  return true;
}

}  // namespace

struct LogFileCap::State {
  State(asio::io_context& io, std::string path_in, std::uint64_t max, std::chrono::milliseconds i)
      : path(std::move(path_in)), max_bytes(max), interval(i), timer(io) {}

  void Arm(std::weak_ptr<State> weak) {
    timer.expires_after(interval);
    timer.async_wait([weak](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->running) return;
      self->Check();
      self->Arm(weak);
    });
  }

  bool Check() {
    if (path.empty() || max_bytes == 0) return false;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) < max_bytes) {
      return false;
    }
    return CopyTruncate();
  }

  bool CopyTruncate() {
    int src = open(path.c_str(), O_RDWR | O_CLOEXEC);  // read to copy, write to truncate
    if (src < 0) return Fail("open");
    std::string tmp = path + ".1.tmp";
    int dst = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (dst < 0) {
      close(src);
      return Fail("open " + tmp);
    }
    struct stat st {};
    fstat(src, &st);
    bool copied = CopyToEnd(src, dst, st.st_size + static_cast<off_t>(max_bytes));
    // Lines the replica writes between the last read above and this truncate are lost.
    bool truncated = copied && ftruncate(src, 0) == 0;
    int err = errno;
    close(dst);
    close(src);
    if (!copied || !truncated) {
      unlink(tmp.c_str());
      errno = err;
      return Fail(copied ? "truncate" : "copy to " + tmp);
    }
    // Renamed after the truncate so the loss window holds no extra syscall; a daemon killed in
    // between leaves the copy in .1.tmp.
    if (std::rename(tmp.c_str(), (path + ".1").c_str()) != 0) return Fail("rename " + tmp);
    return true;
  }

  bool Fail(const std::string& what) {
    if (!warned) {
      log::Warn("replica log cap failed",
                {{"path", path}, {"step", what}, {"error", std::strerror(errno)}});
    }
    warned = true;
    return false;
  }

  const std::string path;
  const std::uint64_t max_bytes;
  const std::chrono::milliseconds interval;
  asio::steady_timer timer;
  bool running = false;
  bool warned = false;  // once per replica, not once per second
};

LogFileCap::LogFileCap(asio::io_context& io, std::string path, std::uint64_t max_bytes,
                       std::chrono::milliseconds check_interval)
    : state_(std::make_shared<State>(io, std::move(path), max_bytes, check_interval)) {}

LogFileCap::~LogFileCap() { Stop(); }

Result<int> LogFileCap::OpenForChild() {
  if (!state_->path.empty()) {
    int fd = open(state_->path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd >= 0) return fd;
    log::Warn("cannot open replica log; its output is discarded",
              {{"path", state_->path}, {"error", std::strerror(errno)}});
  }
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Error{std::string("open /dev/null: ") + std::strerror(errno)};
  return fd;
}

void LogFileCap::Start() {
  if (state_->running) return;
  state_->running = true;
  state_->Arm(state_);
}

void LogFileCap::Stop() {
  state_->running = false;
  state_->timer.cancel();
}

bool LogFileCap::CheckNow() { return state_->Check(); }

const std::string& LogFileCap::path() const { return state_->path; }

}  // namespace slipway::runtime
