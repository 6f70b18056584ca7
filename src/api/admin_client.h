// AdminClient: the CLI's side of the admin API; blocking calls over the daemon's Unix socket.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api/admin_server.h"
#include "common/result.h"

namespace slipway::api {

class AdminClient {
 public:
  explicit AdminClient(std::string socket_path);
  ~AdminClient();

  // One request; keeps the connection for the next. An error means no answer came (daemon not
  // running, socket refused, connection lost); an HTTP error status is a normal response.
  Result<ApiResponse> Call(const std::string& method, const std::string& target,
                           const nlohmann::json& body = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slipway::api
