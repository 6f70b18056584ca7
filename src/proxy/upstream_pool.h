// UpstreamPool: idle keep-alive connections to backends, one pool per proxy I/O thread, so the
// request path takes and returns connections without any lock. A connection taken on one thread
// may be returned on another: sockets all belong to the proxy's one io_context.
// Internal to the proxy module.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/backend_pool.h"

namespace slipway::proxy {

// One HTTP/1.1 connection to a backend and its read buffer (reused across requests).
struct UpstreamConnection {
  explicit UpstreamConnection(const boost::asio::any_io_executor& executor) : socket(executor) {}
  boost::asio::ip::tcp::socket socket;
  boost::beast::flat_buffer buffer;
};

class UpstreamPool {
 public:
  static constexpr std::size_t kMaxIdlePerBackend = 64;
  // Pooled connections idle longer than this are closed rather than reused: common app
  // servers close idle keep-alive connections after 5s (Node.js), and a reused connection the
  // backend is closing costs a retry (or a 502 for a POST).
  static constexpr std::chrono::seconds kMaxIdle{4};

  UpstreamPool() = default;
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // This thread's pool (set by the I/O thread), or null outside proxy threads.
  static UpstreamPool* Current();
  static void SetCurrent(UpstreamPool* pool);

  // The most recently returned idle connection to `backend`, or null. Draining backends have
  // their idle connections closed and get none.
  std::unique_ptr<UpstreamConnection> Take(const std::shared_ptr<Backend>& backend);
  // Keeps `connection` for reuse; closes it instead when the backend is draining. When the
  // backend already has kMaxIdlePerBackend idle ones, the oldest is closed.
  void Give(const std::shared_ptr<Backend>& backend,
            std::unique_ptr<UpstreamConnection> connection);
  // Closes every idle connection to `backend` (it was found to have closed one).
  void Drop(const std::shared_ptr<Backend>& backend);
  std::size_t idle_count() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Idle {
    std::unique_ptr<UpstreamConnection> connection;
    Clock::time_point since;
  };
  // Closes idle connections that are too old or whose backend is gone or draining. Runs at
  // most once a second, from Take.
  void Sweep(Clock::time_point now);

  // Keyed by the Backend's identity (its control block), so a freed Backend's address being
  // reused cannot hand out its old connections.
  std::map<std::weak_ptr<Backend>, std::vector<Idle>, std::owner_less<>> idle_;
  Clock::time_point last_sweep_{};
};

}  // namespace slipway::proxy
