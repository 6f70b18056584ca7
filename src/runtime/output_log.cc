#include "runtime/output_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.h"

namespace slipway::runtime {

namespace asio = boost::asio;

struct OutputLog::File {
  std::string path;
  std::uint64_t max_bytes = 0;
  int fd = -1;
  std::uint64_t size = 0;
  bool warned = false;

  ~File() {
    if (fd >= 0) close(fd);
  }

  bool Open() {
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
      if (!warned)
        log::Warn("cannot open replica log", {{"path", path}, {"error", std::strerror(errno)}});
      warned = true;
      return false;
    }
    struct stat st {};
    size = fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    return true;
  }

  void Append(const char* data, std::size_t n) {
    if (path.empty()) return;
    if (fd < 0 && !Open()) return;
    while (n > 0) {
      ssize_t w = write(fd, data, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return;  // disk full or similar: drop rather than block the replica
      }
      data += w;
      n -= static_cast<std::size_t>(w);
      size += static_cast<std::uint64_t>(w);
    }
    if (max_bytes > 0 && size >= max_bytes) Rotate();
  }

  // Rotates at a chunk boundary, so a file may exceed max_bytes by up to one read.
  void Rotate() {
    close(fd);
    fd = -1;
    std::rename(path.c_str(), (path + ".1").c_str());
    Open();
  }
};

struct OutputLog::Reader : std::enable_shared_from_this<OutputLog::Reader> {
  Reader(asio::io_context& io, int fd, std::shared_ptr<File> f)
      : pipe(io, fd), file(std::move(f)) {}

  void Read() {
    pipe.async_read_some(asio::buffer(buf),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                           if (n > 0) self->file->Append(self->buf.data(), n);
                           if (!ec) self->Read();
                         });
  }

  // Copies what is buffered right now (the pipe is non-blocking), then closes.
  void DrainAndClose() {
    if (!pipe.is_open()) return;
    for (;;) {
      ssize_t n = ::read(pipe.native_handle(), buf.data(), buf.size());
      if (n > 0) {
        file->Append(buf.data(), static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    boost::system::error_code ignored;
    pipe.close(ignored);
  }

  asio::posix::stream_descriptor pipe;
  std::shared_ptr<File> file;
  std::array<char, 16384> buf{};
};

OutputLog::OutputLog(asio::io_context& io, std::string path, std::uint64_t max_bytes)
    : io_(io), file_(std::make_shared<File>()) {
  file_->path = std::move(path);
  file_->max_bytes = max_bytes;
}

OutputLog::~OutputLog() {
  for (auto& weak : readers_) {
    if (auto r = weak.lock()) r->DrainAndClose();
  }
}

Result<int> OutputLog::OpenPipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + std::strerror(errno)};
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  auto reader = std::make_shared<Reader>(io_, fds[0], file_);
  reader->Read();
  std::erase_if(readers_, [](const std::weak_ptr<Reader>& w) { return w.expired(); });
  readers_.push_back(reader);
  return fds[1];
}

}  // namespace slipway::runtime
