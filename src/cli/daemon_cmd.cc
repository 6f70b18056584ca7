// slipway daemon --state-dir DIR
#include "cli/cli_context.h"
#include "daemon/daemon.h"

namespace slipway::cli {

void RegisterDaemon(CLI::App& app, Context& ctx) {
  auto debug = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "daemon",
      "Run the Slipway daemon in the foreground: keeps state in --state-dir, serves the admin\n"
      "API on <state-dir>/slipway.sock (mode 0600) and runs the apps' replicas and proxies.\n"
      "SIGTERM/SIGINT drain and stop every replica, then exit.");
  cmd->add_flag("--debug", *debug, "debug-level logs");
  cmd->callback([&ctx, debug] { ctx.exit_code = daemon::RunDaemon({ctx.state_dir, *debug}); });
}

}  // namespace slipway::cli
