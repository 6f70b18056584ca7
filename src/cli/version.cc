// slipway version
#include <iostream>

#include "cli/cli_context.h"

namespace slipway::cli {

void RegisterVersion(CLI::App& app, Context& ctx) {
  auto* cmd =
      app.add_subcommand("version", "Print the CLI's version and the daemon's, if running.");
  cmd->callback([&ctx] {
    std::cout << "slipway " << SLIPWAY_VERSION << "\n";
    api::AdminClient client(ctx.SocketPath());
    auto res = client.Call("GET", "/v1/version");
    if (res && res->status == 200) {
      std::cout << "daemon " << res->body.value("version", "?") << " at " << ctx.SocketPath()
                << "\n";
    } else {
      std::cout << "daemon not running at " << ctx.SocketPath() << "\n";
    }
  });
}

}  // namespace slipway::cli
