// MetricsServer: the daemon's Prometheus endpoint on a TCP listener of its own, apart from the
// apps' traffic (the proxy) and from the admin socket. `GET /metrics` (or HEAD) answers the page
// `render` returns, as text format 0.0.4; any other path is 404, any other method 405.
// Runs on the controller's io_context, so `render` may read controller state; a scrape costs
// the controller the time `render` takes. No authentication: bind it to loopback or a
// private network.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace boost::asio {
class io_context;
}

namespace slipway::api {

inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

class MetricsServer {
 public:
  // `listen`: "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464" (port 0: the kernel picks one).
  MetricsServer(boost::asio::io_context& io, std::string listen,
                std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds and starts accepting. The error says why: "--metrics-listen X: address in use".
  Status Start();
  // Stops accepting; open connections end after their current answer.
  void Stop();
  // "host:port" as bound (the real port when 0 was asked); "" before Start.
  std::string bound_address() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace slipway::api
