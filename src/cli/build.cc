// slipway build [APP] [-f slipway.yaml|compose.yaml] [--push]: builds the app's image through
// the Docker Engine API (cli/image_build.h), tags it immutably, pushes it, and prints the
// digest reference to deploy.
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"
#include "cli/image_build.h"
#include "runtime/docker_engine.h"
#include "spec/compose_reader.h"
#include "spec/spec_parser.h"

namespace slipway::cli {

namespace {

namespace fs = std::filesystem;

struct BuildOptions {
  std::string app;  // a Compose service, or the spec's app (checked)
  std::string file = "slipway.yaml";
  std::vector<std::string> profiles;
  std::string registry;  // host:port; default: the spec's registry: or the image reference's
  std::string tag;       // default: git-<commit> or ctx-<digest>
  std::string docker_host = runtime::DockerEngine::DefaultHost();
  bool push = false;
};

// The spec of the app to build: the Compose service named (or the only one with build:), or
// the slipway.yaml (whose app must be `opt.app` when given).
Result<spec::AppSpec> SpecToBuild(const BuildOptions& opt) {
  if (spec::LooksLikeComposeFile(opt.file)) {
    spec::ComposeOutcome compose = spec::ReadComposeFile(opt.file, opt.profiles);
    if (!compose.ok()) {
      std::string why;
      for (const auto& d : compose.errors) why += "\n" + d.ToString();
      return Error{opt.file + " is not a valid Compose file:" + why};
    }
    const spec::ComposeService* chosen = nullptr;
    for (const auto& s : compose.services) {
      if (opt.app.empty() ? s.spec.build.has_value() : s.service == opt.app) {
        if (chosen) return Error{opt.file + ": several services build; name one"};
        chosen = &s;
      }
    }
    if (!chosen) {
      return Error{opt.app.empty() ? opt.file + ": no service has build:"
                                   : opt.file + ": no active service " + opt.app};
    }
    if (!chosen->spec.build) return Error{opt.file + ": service " + opt.app + " has no build:"};
    return chosen->spec;
  }
  auto parsed = spec::ParseAppSpecFile(opt.file);
  if (!parsed.spec) {
    std::string why;
    for (const auto& d : parsed.diagnostics) why += "\n" + d.ToString();
    return Error{opt.file + " is not a valid spec:" + why};
  }
  if (!opt.app.empty() && opt.app != parsed.spec->app) {
    return Error{opt.file + " is the spec of " + parsed.spec->app + ", not " + opt.app};
  }
  spec::AppSpec spec = std::move(*parsed.spec);
  if (!spec.build) {
    // No build: the spec's directory is the context, its image (or app) the repository.
    spec.build.emplace();
    spec.build->context = fs::absolute(opt.file).parent_path().string();
    if (spec.image.empty() || spec.image.starts_with("sha256:")) spec.image = spec.app;
  }
  return spec;
}

void RunBuild(Context& ctx, const BuildOptions& opt) {
  auto fail = [&ctx](const std::string& why, int code) {
    std::cerr << "slipway build: " << why << "\n";
    ctx.exit_code = code;
  };
  auto spec = SpecToBuild(opt);
  if (!spec) return fail(spec.error().message, kExitBadInput);
  auto request = ImageBuildOf(*spec, opt.docker_host);
  if (!request) return fail(request.error().message, kExitBadInput);
  if (!opt.registry.empty()) {
    std::string& repo = request->repository;
    if (NamesRegistryHost(repo)) repo = repo.substr(repo.find('/') + 1);
    repo = opt.registry + "/" + repo;
  }
  request->push = opt.push;
  request->tag = opt.tag;
  ImageBuildFailure failure;
  auto built = BuildAndPushImage(*request, std::cout, failure);
  if (!built) return fail(failure.message, failure.bad_input ? kExitBadInput : kExitFailed);
  if (opt.push) std::cout << fmt::format("image: {}\n", built->Reference(request->repository));
}

}  // namespace

void RegisterBuild(CLI::App& app, Context& ctx) {
  auto opt = std::make_shared<BuildOptions>();
  auto* cmd = app.add_subcommand(
      "build",
      "Build an app's image from its Dockerfile through the Docker Engine API, tagged\n"
      "git-<commit> (clean checkout) or ctx-<context digest>, never latest; --push sends it to\n"
      "the registry and prints `image: REPO@sha256:...`, the reference to deploy.");
  cmd->add_option("app", opt->app, "the Compose service (or the spec's app)");
  cmd->add_option("-f,--file,--spec", opt->file, "slipway.yaml or a Compose file")
      ->capture_default_str();
  cmd->add_option("--profile", opt->profiles, "Compose: activate services of this profile");
  cmd->add_flag("--push", opt->push, "push to the registry and print the digest");
  cmd->add_option("--registry", opt->registry,
                  "HOST:PORT (default: the spec's registry: or the image reference's)");
  cmd->add_option("--tag", opt->tag, "the tag (default: git-<commit> or ctx-<digest>)");
  cmd->add_option("--docker-host", opt->docker_host, "the Docker engine")->capture_default_str();
  cmd->callback([&ctx, opt] { RunBuild(ctx, *opt); });
}

}  // namespace slipway::cli
