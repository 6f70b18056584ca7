// A tiny HTTP server for probe tests, on 127.0.0.1:0, driven by the test's io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace slipway::health::testing {

class TestHttpServer {
 public:
  enum class Mode { kOk, kUnavailable, kSilent };  // 200, 503, or accept and never answer

  explicit TestHttpServer(boost::asio::io_context& io);
  ~TestHttpServer();

  std::uint16_t port() const;
  void set_mode(Mode mode);
  int requests() const;              // requests answered or swallowed
  int accepted() const;              // connections accepted
  int closed_by_peer() const;        // silent connections the client closed
  std::string last_request() const;  // the head of the last request, as received

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// A port on 127.0.0.1 nothing listens on (bound, then closed).
std::uint16_t ClosedPort();

// Runs `io` until `done()` holds or `limit` passes; true when `done()` held.
template <typename Pred>
bool RunUntil(boost::asio::io_context& io, Pred done,
              std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace slipway::health::testing
