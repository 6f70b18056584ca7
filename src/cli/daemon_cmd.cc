// slipway daemon --state-dir DIR [--log-level LEVEL] [--metrics-listen HOST:PORT]
//                [--docker-host unix:///PATH]
#include <iostream>

#include "cli/cli_context.h"
#include "daemon/daemon.h"
#include "proxy/listen_address.h"
#include "runtime/docker_engine.h"

namespace slipway::cli {

void RegisterDaemon(CLI::App& app, Context& ctx) {
  auto debug = std::make_shared<bool>(false);
  auto level = std::make_shared<std::string>("info");
  auto metrics_listen = std::make_shared<std::string>();
  auto docker_host = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "daemon",
      "Run the Slipway daemon in the foreground: keeps state in --state-dir, serves the admin\n"
      "API on <state-dir>/slipway.sock (mode 0600) and runs the apps' replicas and proxies.\n"
      "SIGTERM/SIGINT drain and stop every replica, then exit.");
  cmd->add_flag("--debug", *debug, "debug-level logs (same as --log-level debug)");
  cmd->add_option("--log-level", *level,
                  "the least severe log line written: debug, info (default), warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  cmd->add_option("--metrics-listen", *metrics_listen,
                  "serve Prometheus metrics (GET /metrics) on HOST:PORT, e.g. 127.0.0.1:9464;\n"
                  "off by default. No authentication: keep it on loopback or a private network.");
  cmd->add_option("--docker-host", *docker_host,
                  "the Docker engine that runs apps with `image:`, as unix:///PATH/docker.sock;\n"
                  "default: $DOCKER_HOST, else unix:///var/run/docker.sock");
  cmd->callback([&ctx, debug, level, metrics_listen, docker_host] {
    if (!docker_host->empty()) {
      if (auto socket = runtime::DockerEngine::SocketPathOf(*docker_host); !socket) {
        std::cerr << "slipway daemon: --" << socket.error().message << "\n";
        ctx.exit_code = kExitBadInput;
        return;
      }
    }
    if (!metrics_listen->empty()) {
      if (auto address = proxy::ParseListenAddress(*metrics_listen); !address) {
        std::cerr << "slipway daemon: --metrics-" << address.error().message << "\n";
        ctx.exit_code = kExitBadInput;
        return;
      }
    }
    daemon::DaemonOptions options;
    options.state_dir = ctx.state_dir;
    options.debug = *debug;
    options.log_level = *level;
    options.metrics_listen = *metrics_listen;
    options.docker_host = *docker_host;
    ctx.exit_code = daemon::RunDaemon(options);
  });
}

}  // namespace slipway::cli
