// The daemon: wires state, runtime, health, proxy, rollout and the admin API together on one
// controller io_context, recovers on start-up, and stops every replica on SIGTERM/SIGINT.
#pragma once

#include <string>

namespace slipway::daemon {

struct DaemonOptions {
  std::string state_dir;           // holds state.db, slipway.sock, logs/
  bool debug = false;              // debug-level logs (same as log_level "debug")
  std::string log_level = "info";  // debug, info, warn or error: the least severe line written
  // "HOST:PORT" of the Prometheus endpoint (GET /metrics); "": none.
  std::string metrics_listen;
  // The Docker engine for apps with `image:` ("unix:///path"); "": DOCKER_HOST or the default.
  std::string docker_host;
};

// Runs until SIGTERM/SIGINT. Returns the process exit code: 2 when --metrics-listen cannot be
// listened on, 1 for any other start-up failure.
int RunDaemon(const DaemonOptions& options);

}  // namespace slipway::daemon
