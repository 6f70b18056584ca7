// Test peers for the proxy: an HTTP/1.1 backend on 127.0.0.1:0 (its own thread) that answers
// with its name, and a blocking HTTP client. Real sockets on 127.0.0.1 only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proxy/backend_pool.h"

namespace slipway::proxy::testing {

struct Message {
  std::string start_line;  // "GET / HTTP/1.1" or "HTTP/1.1 200 OK"
  int status = 0;          // responses
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of `name` (case-insensitive), or "" when absent.
  std::string Header(const std::string& name) const;
  bool Has(const std::string& name) const;
};

class TestBackend {
 public:
  explicit TestBackend(std::string name);
  ~TestBackend();

  std::uint16_t port() const;
  std::shared_ptr<Backend> MakeBackend() const;  // a Backend pointing here, id = name
  int accepts() const;
  int requests() const;
  Message last_request() const;
  // Hold: requests are read but not answered until Release().
  void Hold();
  void Release();
  // Close each connection right after answering, while the answer promised keep-alive (as a
  // backend closing idle keep-alive connections does).
  void set_close_after_response(bool close);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

class TestClient {
 public:
  explicit TestClient(std::uint16_t port);
  ~TestClient();
  // Sends `raw` (a whole HTTP request) and reads one response.
  Message RoundTrip(const std::string& raw);
  void Send(const std::string& raw);
  Message Read(bool head_response = false);
  // True when the server closed the connection (read returns EOF).
  bool ServerClosed();
  // Raw bytes: until `marker` has arrived (returned with everything before it), or to EOF.
  std::string ReadUntil(const std::string& marker);
  std::string ReadToEof();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A port on 127.0.0.1 nothing listens on.
std::uint16_t ClosedPort();

// Polls `done` until it holds or `limit` passes.
bool WaitFor(const std::function<bool()>& done,
             std::chrono::milliseconds limit = std::chrono::seconds(5));

inline std::string Get(const std::string& target = "/", const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: app.test\r\n" + extra + "\r\n";
}

}  // namespace slipway::proxy::testing
