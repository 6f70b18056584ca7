// slipway reload-tls
#include <iostream>

#include "cli/cli_context.h"

namespace slipway::cli {

void RegisterReloadTls(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "reload-tls",
      "Read every TLS listener's certificate and key files again (after a renewal).\n"
      "Open connections keep their certificate; new ones get the new one. A listener whose new\n"
      "files are bad keeps the old certificate, and the command fails naming them.\n"
      "The daemon does the same on SIGHUP.");
  cmd->callback([&ctx] {
    api::AdminClient client(ctx.SocketPath());
    auto res = ctx.Call(client, "POST", "/v1/tls/reload");
    if (!res) return;
    if (res->status != 200) return ctx.FailFrom(*res);
    std::cout << "TLS certificates reloaded.\n";
  });
}

}  // namespace slipway::cli
