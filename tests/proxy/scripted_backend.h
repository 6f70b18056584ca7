// A backend on 127.0.0.1:0 whose answers a test writes byte for byte: chunked, close-delimited,
// cut short, 101 Switching Protocols. Each connection is served on its own thread with plain
// blocking sockets (reads time out after 10 s, so no test hangs).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/backend_pool.h"

namespace slipway::proxy::testing {

// One request as the backend read it: the head verbatim and the body decoded.
struct RawRequest {
  std::string head;  // request line and header lines, up to and including the empty line
  std::string body;  // Content-Length bytes, or the chunked body decoded
  bool chunked = false;
  // The first value of `name` (case-insensitive) in the head, or "".
  std::string Header(const std::string& name) const;
};

// A connection's socket, for the handler to answer on.
class RawConnection {
 public:
  explicit RawConnection(int fd) : fd_(fd) {}
  void Write(const std::string& bytes);
  // Reads what is there (at least one byte; "" on EOF or timeout).
  std::string ReadSome();
  int fd() const { return fd_; }

 private:
  int fd_;
};

class ScriptedBackend {
 public:
  // Called for each request; returns false to close the connection afterwards.
  using Handler = std::function<bool(const RawRequest&, RawConnection&)>;

  // kHeadOnly: the handler is called once the head is read, the body left unread in the socket
  // (an app that answers early); RawRequest::body is then empty.
  enum class Read { kWhole, kHeadOnly };
  explicit ScriptedBackend(Handler handler, Read read = Read::kWhole);
  ~ScriptedBackend();

  std::uint16_t port() const { return port_; }
  std::shared_ptr<Backend> MakeBackend(const std::string& id = "scripted") const;
  int requests() const { return requests_; }
  RawRequest last_request() const;

 private:
  void Serve(int fd);

  Handler handler_;
  Read read_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  RawRequest last_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// "HTTP/1.1 200 OK" with a Content-Length body and the given extra header lines.
std::string OkResponse(const std::string& body, const std::string& extra = "");

}  // namespace slipway::proxy::testing
