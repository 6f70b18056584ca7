// slipway deploy -f slipway.yaml | -f compose.yaml [--profile P]
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/cli_context.h"
#include "spec/compose_reader.h"
#include "spec/spec_parser.h"

namespace slipway::cli {

namespace {

struct DeployOptions {
  std::string file = "slipway.yaml";
  bool detach = false;
  std::vector<std::string> profiles;
};

// A Compose file: every active service is one app, deployed in depends_on order; each waits
// for the one before it to serve (its replicas ready), so a failure stops the rest.
void RunComposeDeploy(Context& ctx, const DeployOptions& opt) {
  namespace fs = std::filesystem;
  spec::ComposeOutcome compose = spec::ReadComposeFile(opt.file, opt.profiles);
  for (const auto& w : compose.warnings) std::cerr << w.ToString() << "\n";
  for (const auto& d : compose.errors) std::cerr << d.ToString() << "\n";
  if (!compose.ok()) {
    std::cerr << fmt::format("slipway: {} has {} problem(s); nothing was deployed\n", opt.file,
                             compose.errors.size());
    ctx.exit_code = kExitBadInput;
    return;
  }
  if (compose.services.empty()) {
    std::cerr << fmt::format(
        "slipway: {}: no active service (check --profile); nothing was "
        "deployed\n",
        opt.file);
    ctx.exit_code = kExitBadInput;
    return;
  }
  std::error_code ec;
  fs::path abs = fs::absolute(opt.file, ec);
  api::AdminClient client(ctx.SocketPath());
  for (std::size_t i = 0; i < compose.services.size(); ++i) {
    const spec::ComposeService& s = compose.services[i];
    nlohmann::json body = {{"spec_yaml", s.spec_yaml},
                           {"spec_file", abs.string()},
                           {"base_dir", abs.parent_path().string()}};
    auto res = ctx.Call(client, "POST", "/v1/deploy", body);
    if (!res) return;
    if (res->status != 202) return ctx.FailFrom(*res);
    std::int64_t number = res->body["release"].value("number", 0);
    std::cout << fmt::format("Deploying {} (service {}) release {} from {}\n", s.spec.app,
                             s.service, number, opt.file);
    // Dependents need this one serving; only the last may be left running detached.
    if (opt.detach && i + 1 == compose.services.size()) return;
    int code = FollowRelease(ctx, client, s.spec.app, number);
    if (code != kExitOk) {
      ctx.exit_code = code;
      if (i + 1 < compose.services.size()) {
        std::cerr << fmt::format("slipway: {} did not deploy; {} later service(s) not deployed\n",
                                 s.service, compose.services.size() - i - 1);
      }
      return;
    }
  }
}

void RunDeploy(Context& ctx, const DeployOptions& opt) {
  namespace fs = std::filesystem;
  if (spec::LooksLikeComposeFile(opt.file)) return RunComposeDeploy(ctx, opt);
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
  cmd->add_option("-f,--file", opt->file, "the app spec, or a Compose file (compose.yaml)")
      ->capture_default_str();
  cmd->add_option("--profile", opt->profiles, "Compose: activate services of this profile");
  cmd->add_flag("--detach", opt->detach, "return once the release is created");
  cmd->callback([&ctx, opt] { RunDeploy(ctx, *opt); });
}

}  // namespace slipway::cli
