// slipway rollback APP [--to N]
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"

namespace slipway::cli {

namespace {
struct RollbackOptions {
  std::string app;
  std::int64_t to = 0;
  bool detach = false;
};
}  // namespace

void RegisterRollback(CLI::App& app, Context& ctx) {
  auto opt = std::make_shared<RollbackOptions>();
  auto* cmd = app.add_subcommand(
      "rollback",
      "Redeploy an earlier release (default: the last one that served before the current one)\n"
      "as a new release, through the same rolling path and health gates.");
  cmd->add_option("app", opt->app, "app name")->required();
  cmd->add_option("--to", opt->to, "release number to roll back to")->check(CLI::PositiveNumber);
  cmd->add_flag("--detach", opt->detach, "return once the release is created");
  cmd->callback([&ctx, opt] {
    api::AdminClient client(ctx.SocketPath());
    nlohmann::json body = nlohmann::json::object();
    if (opt->to > 0) body["to"] = opt->to;
    auto res = ctx.Call(client, "POST", fmt::format("/v1/apps/{}/rollback", opt->app), body);
    if (!res) return;
    if (res->status != 202) return ctx.FailFrom(*res);
    const auto& rel = res->body["release"];
    std::int64_t number = rel.value("number", 0);
    std::cout << fmt::format("Rolling {} back to release {} as release {}\n", opt->app,
                             rel.value("rollback_of", 0), number);
    if (!opt->detach) ctx.exit_code = FollowRelease(ctx, client, opt->app, number);
  });
}

}  // namespace slipway::cli
