// slipway stop APP
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"

namespace slipway::cli {

void RegisterStop(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd =
      app.add_subcommand("stop",
                         "Drain and stop every replica of an app and close its proxy listener.\n"
                         "The release history stays; `deploy` or `rollback` starts it again.");
  cmd->add_option("app", *name, "app name")->required();
  cmd->callback([&ctx, name] {
    api::AdminClient client(ctx.SocketPath());
    auto res = ctx.Call(client, "POST", fmt::format("/v1/apps/{}/stop", *name));
    if (!res) return;
    if (res->status != 200) return ctx.FailFrom(*res);
    std::cout << fmt::format("{} stopped: no replica of it runs.\n", *name);
  });
}

}  // namespace slipway::cli
