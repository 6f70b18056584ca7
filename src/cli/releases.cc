// slipway releases APP [--json]
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"

namespace slipway::cli {

void RegisterReleases(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("releases", "List an app's releases (immutable history).");
  cmd->add_option("app", *name, "app name")->required();
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&ctx, name, json] {
    api::AdminClient client(ctx.SocketPath());
    auto res = ctx.Call(client, "GET", fmt::format("/v1/apps/{}/releases", *name));
    if (!res) return;
    if (res->status != 200) return ctx.FailFrom(*res);
    auto status = ctx.Call(client, "GET", "/v1/apps/" + *name);
    if (!status) return;
    std::int64_t serving = 0;
    if (status->body.contains("current_release") && status->body["current_release"].is_number()) {
      serving = status->body["current_release"].get<std::int64_t>();
    }
    if (*json) {
      std::cout << res->body["releases"].dump(2) << "\n";
      return;
    }
    std::cout << fmt::format("  {:>7}  {:<10} {:<24} {:<18} {}\n", "RELEASE", "OUTCOME", "CREATED",
                             "BY", "NOTE");
    for (const auto& r : res->body["releases"]) {
      std::int64_t n = r.value("number", 0);
      std::string note;
      if (r.contains("rollback_of") && r["rollback_of"].is_number()) {
        note = fmt::format("rollback to {}", r["rollback_of"].get<std::int64_t>());
      }
      std::string reason = r.value("reason", "");
      if (!reason.empty()) note += (note.empty() ? "" : "; ") + reason;
      // A docker release: the image it runs (its digest reference, else the pinned ID).
      std::string image = r.value("image", "");
      if (image.empty()) image = r.value("image_id", "");
      if (!image.empty()) note += (note.empty() ? "" : "; ") + std::string("image ") + image;
      std::cout << fmt::format("{} {:>7}  {:<10} {:<24} {:<18} {}\n", n == serving ? "*" : " ", n,
                               r.value("outcome", ""), r.value("created_at", ""),
                               r.value("created_by", ""), note);
    }
    if (serving > 0) std::cout << "(* = serving)\n";
  });
}

}  // namespace slipway::cli
