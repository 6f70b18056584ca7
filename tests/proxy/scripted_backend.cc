#include "scripted_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace slipway::proxy::testing {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads until `buffer` holds `n` bytes; false on EOF or timeout.
bool Fill(int fd, std::string& buffer, std::size_t n) {
  char chunk[16384];
  while (buffer.size() < n) {
    ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(got));
  }
  return true;
}

// Reads until `buffer` contains `marker` at or after `from`; its position, or npos.
std::size_t FillUntil(int fd, std::string& buffer, const std::string& marker, std::size_t from) {
  for (;;) {
    std::size_t at = buffer.find(marker, from);
    if (at != std::string::npos) return at;
    if (!Fill(fd, buffer, buffer.size() + 1)) return std::string::npos;
  }
}

// One request from `buffer` (reading more from `fd` as needed); false when the peer is gone.
bool ReadRequest(int fd, std::string& buffer, RawRequest& out, bool head_only) {
  std::size_t end = FillUntil(fd, buffer, "\r\n\r\n", 0);
  if (end == std::string::npos) return false;
  out = RawRequest{};
  out.head = buffer.substr(0, end + 4);
  buffer.erase(0, end + 4);
  out.chunked = Lower(out.Header("Transfer-Encoding")) == "chunked";
  if (head_only) return true;
  if (out.chunked) {
    for (;;) {
      std::size_t line = FillUntil(fd, buffer, "\r\n", 0);
      if (line == std::string::npos) return false;
      std::size_t size = std::stoul(buffer.substr(0, line), nullptr, 16);
      buffer.erase(0, line + 2);
      if (size == 0) {
        std::size_t trailer_end = FillUntil(fd, buffer, "\r\n", 0);
        if (trailer_end == std::string::npos) return false;
        buffer.erase(0, trailer_end + 2);
        return true;
      }
      if (!Fill(fd, buffer, size + 2)) return false;
      out.body.append(buffer, 0, size);
      buffer.erase(0, size + 2);
    }
  }
  std::string length = out.Header("Content-Length");
  if (!length.empty()) {
    std::size_t n = std::stoul(length);
    if (!Fill(fd, buffer, n)) return false;
    out.body = buffer.substr(0, n);
    buffer.erase(0, n);
  }
  return true;
}

}  // namespace

std::string RawRequest::Header(const std::string& name) const {
  const std::string wanted = Lower(name) + ":";
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    std::size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next - pos - 2);
    if (Lower(line.substr(0, wanted.size())) == wanted) {
      std::string value = line.substr(wanted.size());
      value.erase(0, value.find_first_not_of(' '));
      return value;
    }
    pos = next;
  }
  return "";
}

void RawConnection::Write(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("scripted backend: write failed");
    done += static_cast<std::size_t>(n);
  }
}

std::string RawConnection::ReadSome() {
  char chunk[16384];
  ssize_t n = ::read(fd_, chunk, sizeof chunk);
  return n > 0 ? std::string(chunk, static_cast<std::size_t>(n)) : std::string();
}

ScriptedBackend::ScriptedBackend(Handler handler, Read read)
    : handler_(std::move(handler)), read_(read) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("scripted backend: bind failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0 || stopping_) {
        if (fd >= 0) ::close(fd);
        return;
      }
      timeval tv{10, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::lock_guard lock(mu_);
      open_fds_.push_back(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  });
}

ScriptedBackend::~ScriptedBackend() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  for (int fd : open_fds_) ::close(fd);
}

void ScriptedBackend::Serve(int fd) {
  std::string buffer;
  RawRequest request;
  while (!stopping_ && ReadRequest(fd, buffer, request, read_ == Read::kHeadOnly)) {
    {
      std::lock_guard lock(mu_);
      last_ = request;
    }
    ++requests_;
    RawConnection connection(fd);
    bool keep = false;
    try {
      keep = handler_(request, connection);
    } catch (const std::exception&) {
      keep = false;
    }
    if (!keep) break;
  }
  ::shutdown(fd, SHUT_WR);
}

std::shared_ptr<Backend> ScriptedBackend::MakeBackend(const std::string& id) const {
  auto b = std::make_shared<Backend>();
  b->id = id;
  b->port = port_;
  return b;
}

RawRequest ScriptedBackend::last_request() const {
  std::lock_guard lock(mu_);
  return last_;
}

std::string OkResponse(const std::string& body, const std::string& extra) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra +
         "\r\n" + body;
}

}  // namespace slipway::proxy::testing
