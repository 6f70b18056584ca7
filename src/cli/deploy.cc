// slipway deploy -f slipway.yaml
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/cli_context.h"
#include "spec/spec_parser.h"

namespace slipway::cli {

namespace {

struct DeployOptions {
  std::string file = "slipway.yaml";
  bool detach = false;
};

void RunDeploy(Context& ctx, const DeployOptions& opt) {
  namespace fs = std::filesystem;
  // Validate here first: a bad spec never reaches the daemon, so nothing changes.
  auto parsed = spec::ParseAppSpecFile(opt.file);
  if (!parsed.spec) {
    for (const auto& d : parsed.diagnostics) std::cerr << d.ToString() << "\n";
    std::cerr << fmt::format("slipway: {} has {} problem(s); nothing was deployed\n", opt.file,
                             parsed.diagnostics.size());
    ctx.exit_code = kExitBadInput;
    return;
  }
  std::ifstream in(opt.file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::error_code ec;
  fs::path abs = fs::absolute(opt.file, ec);
  nlohmann::json body = {{"spec_yaml", text.str()},
                         {"spec_file", abs.string()},
                         {"base_dir", abs.parent_path().string()}};
  api::AdminClient client(ctx.SocketPath());
  auto res = ctx.Call(client, "POST", "/v1/deploy", body);
  if (!res) return;
  if (res->status != 202) return ctx.FailFrom(*res);
  std::int64_t number = res->body["release"].value("number", 0);
  const std::string& app = parsed.spec->app;
  std::cout << fmt::format("Deploying {} release {} from {}\n", app, number, opt.file);
  if (opt.detach) return;
  ctx.exit_code = FollowRelease(ctx, client, app, number);
}

}  // namespace

void RegisterDeploy(CLI::App& app, Context& ctx) {
  auto opt = std::make_shared<DeployOptions>();
  auto* cmd = app.add_subcommand(
      "deploy",
      "Create the next release from a spec and roll it out; waits for the outcome.\n"
      "Exits 0 when the release serves, 1 when it failed (the previous release keeps serving),\n"
      "2 when the spec is invalid (nothing changes), 3 when the daemon is not running.");
  cmd->add_option("-f,--file", opt->file, "the app spec")->capture_default_str();
  cmd->add_flag("--detach", opt->detach, "return once the release is created");
  cmd->callback([&ctx, opt] { RunDeploy(ctx, *opt); });
}

}  // namespace slipway::cli
