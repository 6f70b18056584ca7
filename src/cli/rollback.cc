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
      "as a new release: its whole set starts at once and takes all traffic when ready.\n"
      "During a canary or blue-green rollout it aborts the rollout instead: the release that\n"
      "served before it gets all traffic back at once.");
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
    if (rel["rollback_of"].is_null()) {
      // A rollback during a canary or blue-green rollout aborts it: the release that served
      // before it serves on, at once.
      std::cout << fmt::format("Aborted the rollout of {}: release {} serves all traffic again\n",
                               opt->app, number);
      return;
    }
    std::cout << fmt::format("Rolling {} back to release {} as release {}\n", opt->app,
                             rel.value("rollback_of", 0), number);
    if (!opt->detach) ctx.exit_code = FollowRelease(ctx, client, opt->app, number);
  });
}

}  // namespace slipway::cli
