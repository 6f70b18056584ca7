// slipway flag set APP NAME VALUE | slipway flag list APP
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"

namespace slipway::cli {

namespace {

void PrintFlags(const nlohmann::json& flags) {
  if (flags.empty()) {
    std::cout << "no flags: declare them under `flags:` in the spec\n";
    return;
  }
  std::cout << fmt::format("{:<24} {:<8} {}\n", "FLAG", "VALUE", "SET BY");
  for (const auto& f : flags) {
    std::string by = f.value("source", "") == "spec"
                         ? std::string("spec")
                         : f.value("updated_by", "") + " at " + f.value("updated_at", "");
    std::cout << fmt::format("{:<24} {:<8} {}\n", f.value("name", ""), f.value("value", ""), by);
  }
}

}  // namespace

void RegisterFlag(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "flag",
      "Feature flags: named on/off or percentage switches from the spec's `flags:`, read by\n"
      "replicas from $SLIPWAY_FLAGS_FILE (rewritten atomically on every change; no restart).");
  cmd->require_subcommand(1);
  struct SetOptions {
    std::string app, name, value;
    bool json = false;
  };
  auto opt = std::make_shared<SetOptions>();
  auto* set = cmd->add_subcommand("set", "Change a flag (recorded, with who changed it).");
  set->add_option("app", opt->app, "app name")->required();
  set->add_option("name", opt->name, "flag name")->required();
  set->add_option("value", opt->value, "true, false or a percentage (25%)")->required();
  set->callback([&ctx, opt] {
    api::AdminClient client(ctx.SocketPath());
    auto res = ctx.Call(client, "PUT", fmt::format("/v1/apps/{}/flags/{}", opt->app, opt->name),
                        {{"value", opt->value}});
    if (!res) return;
    if (res->status != 200) return ctx.FailFrom(*res);
    std::cout << fmt::format("{}: flag {} is now {}\n", opt->app, opt->name, opt->value);
  });
  auto* list = cmd->add_subcommand("list", "Show the flags and who set them.");
  list->add_option("app", opt->app, "app name")->required();
  list->add_flag("--json", opt->json, "print JSON");
  list->callback([&ctx, opt] {
    api::AdminClient client(ctx.SocketPath());
    auto res = ctx.Call(client, "GET", fmt::format("/v1/apps/{}/flags", opt->app));
    if (!res) return;
    if (res->status != 200) return ctx.FailFrom(*res);
    if (opt->json) {
      std::cout << res->body["flags"].dump(2) << "\n";
      return;
    }
    PrintFlags(res->body["flags"]);
  });
}

}  // namespace slipway::cli
