// slipway deploy -f slipway.yaml | -f compose.yaml [--profile P] [--no-build]
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/cli_context.h"
#include "cli/image_build.h"
#include "runtime/docker_engine.h"
#include "spec/compose_reader.h"
#include "spec/spec_parser.h"

namespace slipway::cli {

namespace {

struct DeployOptions {
  std::string file = "slipway.yaml";
  bool detach = false;
  bool no_build = false;
  std::string docker_host = runtime::DockerEngine::DefaultHost();
  std::vector<std::string> profiles;
};

// A spec with build: is built (and pushed when it names a registry) here, and the release is
// sent with image: set to what was built (REPO@sha256:..., else the image ID) and no build:,
// so the stored spec says exactly what runs. `spec_yaml` is rewritten; false (exit code set)
// when the build fails. --no-build sends the spec as it is: image: must then be a digest.
bool BuildForDeploy(Context& ctx, const DeployOptions& opt, const spec::AppSpec& spec,
                    std::string& spec_yaml) {
  if (!spec.build) return true;
  if (opt.no_build) {
    if (spec::IsPinnedImageReference(spec.image)) return true;
    std::cerr << fmt::format(
        "slipway: {}: --no-build needs image: REPO@sha256:... (the spec builds {}); nothing "
        "was deployed\n",
        spec.app, spec.image);
    ctx.exit_code = kExitBadInput;
    return false;
  }
  auto request = ImageBuildOf(spec, opt.docker_host);
  if (!request) {
    std::cerr << "slipway: " << spec.app << ": " << request.error().message << "\n";
    ctx.exit_code = kExitBadInput;
    return false;
  }
  ImageBuildFailure failure;
  auto built = BuildAndPushImage(*request, std::cout, failure);
  if (!built) {
    std::cerr << fmt::format("slipway: building {}: {}; nothing was deployed\n", spec.app,
                             failure.message);
    ctx.exit_code = failure.bad_input ? kExitBadInput : kExitFailed;
    return false;
  }
  const std::string ref = built->Reference(request->repository);
  YAML::Node root = YAML::Load(spec_yaml);
  root["image"] = ref;
  root.remove("build");
  YAML::Emitter emitter;
  emitter << root;
  spec_yaml = fmt::format("# image built by slipway deploy from {} ({})\n{}\n", spec.build->context,
                          built->tagged, emitter.c_str());
  std::cout << fmt::format("image: {}\n", ref);
  return true;
}

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
  // Every build first: a failing one deploys nothing.
  for (spec::ComposeService& s : compose.services) {
    if (!BuildForDeploy(ctx, opt, s.spec, s.spec_yaml)) return;
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
  std::string spec_yaml = text.str();
  if (!BuildForDeploy(ctx, opt, *parsed.spec, spec_yaml)) return;
  std::error_code ec;
  fs::path abs = fs::absolute(opt.file, ec);
  nlohmann::json body = {{"spec_yaml", spec_yaml},
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
  cmd->add_flag("--no-build", opt->no_build,
                "a spec with build: deploys its image: (a digest) as given, without building");
  cmd->add_option("--docker-host", opt->docker_host, "the Docker engine that builds build: specs")
      ->capture_default_str();
  cmd->callback([&ctx, opt] { RunDeploy(ctx, *opt); });
}

}  // namespace slipway::cli
