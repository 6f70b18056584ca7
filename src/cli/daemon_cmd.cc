// slipway daemon --state-dir DIR [--log-level LEVEL] [--metrics-listen HOST:PORT]
#include <iostream>

#include "cli/cli_context.h"
#include "daemon/daemon.h"
#include "proxy/listen_address.h"

namespace slipway::cli {

void RegisterDaemon(CLI::App& app, Context& ctx) {
  auto debug = std::make_shared<bool>(false);
  auto level = std::make_shared<std::string>("info");
  auto metrics_listen = std::make_shared<std::string>();
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
  cmd->callback([&ctx, debug, level, metrics_listen] {
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
    ctx.exit_code = daemon::RunDaemon(options);
  });
}

}  // namespace slipway::cli
