// ListenerState: what one app's listener shares with its client connections: the backend pool,
// the balancing state, the listener policy (headers, limits, timeouts, access log)
// and the registry of live connections (so RemoveListener can close the idle ones).
// Internal to the proxy module.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/access_log.h"
#include "proxy/backend_pool.h"
#include "proxy/balancer.h"
#include "proxy/proxy_server.h"
#include "proxy/tls_context.h"
#include "proxy/traffic_split.h"
#include "proxy/worker_index.h"

namespace slipway::proxy {

// What a listener needs from a live client connection.
class ClientConnection {
 public:
  virtual ~ClientConnection() = default;
  // Thread-safe. Closes the connection now when it waits for a request; otherwise it finishes
  // the current request, answers with "Connection: close" and closes.
  virtual void Shutdown() = 0;
};

// How a listener treats its requests and answers. Immutable; replaced whole when a deploy
// changes it, so a request sees one consistent policy (loaded once per request).
struct ListenerPolicy {
  SecurityHeaderOptions security_headers;
  std::vector<std::string> hide_headers;  // removed from upstream responses
  AccessLog* access_log = nullptr;        // null: no access log lines; outlives every listener
  ProxyTimeouts timeouts;
  ProxyLimitOptions limits;
  bool gzip = true;
  std::string hsts;                // TLS listeners: Strict-Transport-Security value, "" for none
  bool redirect_https = false;     // plain listener that answers every request with 308 to https
  std::uint16_t https_port = 443;  // where redirect_https sends clients
  bool retry_canary_5xx = true;    // see ListenerOptions::retry_canary_5xx
  std::shared_ptr<metrics::RequestCounters> local_counters;  // see ListenerOptions
  std::shared_ptr<Balancer> balancer =  // never null; shared by the listener's connections
      std::make_shared<Balancer>(Balancing::kLeastRequests, OutlierOptions{});
};

struct ListenerState {
  using Registry = std::list<std::weak_ptr<ClientConnection>>;

  // `workers`: how many proxy workers serve its connections (one weight spreader each).
  ListenerState(std::string app, std::shared_ptr<BackendPool> pool,
                std::shared_ptr<const ListenerPolicy> policy = std::make_shared<ListenerPolicy>(),
                int workers = 1)
      : app(std::move(app)),
        pool(std::move(pool)),
        worker_routing_(static_cast<std::size_t>(std::max(workers, 1))),
        policy_(std::move(policy)) {}

  // The current policy; never null. One atomic load: read it once per request.
  std::shared_ptr<const ListenerPolicy> Policy() const { return policy_.load(); }
  void SetPolicy(std::shared_ptr<const ListenerPolicy> policy) { policy_.store(std::move(policy)); }

  // The calling worker's weight spreader for this listener (worker threads only). Per worker, so
  // the split needs no shared counter; it outlives policy changes, so a deploy keeps the spread.
  WeightSpreader& Spreader() {
    const auto index = static_cast<std::size_t>(CurrentWorkerIndex());
    return worker_routing_[index < worker_routing_.size() ? index : 0].spreader;
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
  std::atomic<std::uint32_t> open_connections{0};  // for limits.max_connections
  // TLS listeners: the certificate store new connections take their context from; null for
  // plain HTTP. Swapped whole when a deploy names other files.
  std::atomic<std::shared_ptr<TlsServerContext>> tls;

  // The registry is touched on connect and disconnect only, never per request.
  std::mutex mu;
  Registry connections;
  bool stopping = false;  // guarded by mu; new connections shut down at once

 private:
  struct alignas(64) WorkerRouting {  // one cache line per worker: no false sharing
    WeightSpreader spreader;
  };
  std::vector<WorkerRouting> worker_routing_;
  std::atomic<std::shared_ptr<const ListenerPolicy>> policy_;
};

}  // namespace slipway::proxy
