// ListenerState: what one app's listener shares with its client connections: the backend pool,
// the round-robin counter, the response policy (security headers, hidden headers, access log)
// and the registry of live connections (so RemoveListener can close the idle ones).
// Internal to the proxy module.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "proxy/access_log.h"
#include "proxy/backend_pool.h"
#include "proxy/proxy_server.h"

namespace slipway::proxy {

// What a listener needs from a live client connection.
class ClientConnection {
 public:
  virtual ~ClientConnection() = default;
  // Thread-safe. Closes the connection now when it waits for a request; otherwise it finishes
  // the current request, answers with "Connection: close" and closes.
  virtual void Shutdown() = 0;
};

// A backend picked for one request. While held, the backend's `inflight` counts it.
class BackendLease {
 public:
  BackendLease() = default;
  explicit BackendLease(std::shared_ptr<Backend> backend) : backend_(std::move(backend)) {
    if (backend_) backend_->inflight.fetch_add(1);
  }
  ~BackendLease() { Reset(); }
  BackendLease(BackendLease&& other) noexcept : backend_(std::move(other.backend_)) {}
  BackendLease& operator=(BackendLease&& other) noexcept {
    if (this != &other) {
      Reset();
      backend_ = std::move(other.backend_);
    }
    return *this;
  }
  void Reset() {
    if (backend_) backend_->inflight.fetch_sub(1);
    backend_.reset();
  }
  explicit operator bool() const { return backend_ != nullptr; }
  const std::shared_ptr<Backend>& backend() const { return backend_; }
  Backend* operator->() const { return backend_.get(); }

 private:
  std::shared_ptr<Backend> backend_;
};

// What a listener does to the answers it sends. Immutable; replaced whole when a deploy
// changes it, so a request sees one consistent policy.
struct ResponsePolicy {
  SecurityHeaderOptions security_headers;
  std::vector<std::string> hide_headers;  // removed from upstream responses
  AccessLog* access_log = nullptr;        // null: no access log lines; outlives every listener
};

struct ListenerState {
  using Registry = std::list<std::weak_ptr<ClientConnection>>;

  ListenerState(std::string app, std::shared_ptr<BackendPool> pool,
                boost::asio::any_io_executor io_executor,
                std::shared_ptr<const ResponsePolicy> policy = std::make_shared<ResponsePolicy>())
      : app(std::move(app)),
        pool(std::move(pool)),
        io_executor(std::move(io_executor)),
        policy_(std::move(policy)) {}

  // The current policy; never null. One atomic load: read it once per request.
  std::shared_ptr<const ResponsePolicy> Policy() const { return policy_.load(); }
  void SetPolicy(std::shared_ptr<const ResponsePolicy> policy) { policy_.store(std::move(policy)); }

  // Round robin over the snapshot's non-draining backends, skipping `exclude`; an empty lease
  // when there is none. `inflight` is raised before `draining` is re-checked, so a controller
  // that sets `draining` and then sees inflight == 0 knows no request can still pick it.
  BackendLease PickBackend(const Backend* exclude = nullptr) {
    std::shared_ptr<const BackendList> snapshot = pool->Snapshot();
    const std::size_t n = snapshot->size();
    if (n == 0) return {};
    const std::uint64_t start = next.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i) {
      const std::shared_ptr<Backend>& candidate = (*snapshot)[(start + i) % n];
      if (candidate.get() == exclude || candidate->draining.load()) continue;
      BackendLease lease(candidate);
      if (!candidate->draining.load()) return lease;
    }
    return {};
  }

  Registry::iterator Register(std::weak_ptr<ClientConnection> connection) {
    std::lock_guard lock(mu);
    return connections.insert(connections.end(), std::move(connection));
  }
  void Unregister(Registry::iterator it) {
    std::lock_guard lock(mu);
    connections.erase(it);
  }
  // Asks every live connection to shut down (see ClientConnection::Shutdown).
  void ShutdownConnections() {
    std::vector<std::shared_ptr<ClientConnection>> live;
    {
      std::lock_guard lock(mu);
      stopping = true;
      for (auto& weak : connections) {
        if (auto c = weak.lock()) live.push_back(std::move(c));
      }
    }
    for (auto& c : live) c->Shutdown();
  }

  const std::string app;
  const std::shared_ptr<BackendPool> pool;
  const boost::asio::any_io_executor io_executor;  // for upstream sockets (not a strand)
  std::atomic<std::uint64_t> next{0};

  // The registry is touched on connect and disconnect only, never per request.
  std::mutex mu;
  Registry connections;
  bool stopping = false;  // guarded by mu; new connections shut down at once

 private:
  std::atomic<std::shared_ptr<const ResponsePolicy>> policy_;
};

}  // namespace slipway::proxy
