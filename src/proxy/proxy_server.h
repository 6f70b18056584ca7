// ProxyServer: Slipway's HTTP/1.1 reverse proxy. Owns its own I/O threads. One listener per
// app, each forwarding to that app's BackendPool (round robin over non-draining backends),
// with keep-alive to clients and pooled keep-alive connections to upstreams.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "proxy/backend_pool.h"

namespace slipway::proxy {

struct ListenerOptions {
  std::string app;
  std::string listen;  // "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80"
  std::shared_ptr<BackendPool> pool;
};

class ProxyServer {
 public:
  // Starts `threads` I/O threads (0 = one per core).
  explicit ProxyServer(int threads = 0);
  ~ProxyServer();  // closes listeners and connections, joins threads
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Binds and starts accepting; an error when the address is bad or taken. Idempotent per
  // app when the address is unchanged; a changed address rebinds.
  Status AddListener(const ListenerOptions& options);
  // Stops accepting for `app` and closes its idle client connections.
  void RemoveListener(const std::string& app);
  // The bound "host:port" of an app's listener (port resolved when 0 was asked), or "".
  std::string BoundAddress(const std::string& app) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slipway::proxy
