// slipway daemon --state-dir DIR
#include "cli/cli_context.h"
#include "daemon/daemon.h"

namespace slipway::cli {

void RegisterDaemon(CLI::App& app, Context& ctx) {
  auto debug = std::make_shared<bool>(false);
  auto level = std::make_shared<std::string>("info");
  auto* cmd = app.add_subcommand(
      "daemon",
      "Run the Slipway daemon in the foreground: keeps state in --state-dir, serves the admin\n"
      "API on <state-dir>/slipway.sock (mode 0600) and runs the apps' replicas and proxies.\n"
      "SIGTERM/SIGINT drain and stop every replica, then exit.");
  cmd->add_flag("--debug", *debug, "debug-level logs (same as --log-level debug)");
  cmd->add_option("--log-level", *level,
                  "the least severe log line written: debug, info (default), warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  cmd->callback([&ctx, debug, level] {
    daemon::DaemonOptions options;
    options.state_dir = ctx.state_dir;
    options.debug = *debug;
    options.log_level = *level;
    ctx.exit_code = daemon::RunDaemon(options);
  });
}

}  // namespace slipway::cli
