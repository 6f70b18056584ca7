// AdminServer: the daemon's admin API transport: HTTP/1.1 + JSON on a Unix socket (mode 0600,
// so only the daemon's user and root can talk to it). The caller's uid comes from SO_PEERCRED,
// not from anything the client says. Runs on the controller's io_context.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace boost::asio {
class io_context;
}

namespace slipway::api {

struct ApiRequest {
  std::string method;  // "GET", "POST"
  std::string path;    // "/v1/apps/hello" (no query)
  std::map<std::string, std::string> query;
  nlohmann::json body;  // null when empty; a parse error is answered 400 before dispatch
  unsigned peer_uid = 0;
  std::string peer;  // "root (uid 0)"
};

struct ApiResponse {
  int status = 200;
  nlohmann::json body = nlohmann::json::object();
};

using Responder = std::function<void(ApiResponse)>;
// Must call the responder exactly once, now or later, on the io_context thread.
using Handler = std::function<void(const ApiRequest&, Responder)>;

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& io, std::string socket_path, Handler handler);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds the socket (replacing a stale one; an error if a live daemon answers on it).
  Status Start();
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace slipway::api
