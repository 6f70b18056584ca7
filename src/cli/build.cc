// slipway build [APP] [-f slipway.yaml|compose.yaml] [--push]: builds the app's image through
// the Docker Engine API, tags it immutably (git-<commit> of a clean checkout, else ctx-<digest
// of the build context>; never `latest`), pushes it, and prints the digest reference to deploy.
#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <boost/asio/io_context.hpp>

#include "cli/cli_context.h"
#include "runtime/build_context.h"
#include "runtime/docker_engine.h"
#include "spec/compose_reader.h"
#include "spec/spec_parser.h"

namespace slipway::cli {

namespace {

namespace fs = std::filesystem;

struct BuildOptions {
  std::string app;  // a Compose service, or the spec's app (checked)
  std::string file = "slipway.yaml";
  std::string registry;  // host:port; default: the one the image reference names
  std::string tag;       // default: git-<commit> or ctx-<digest>
  std::string docker_host = runtime::DockerEngine::DefaultHost();
  bool push = false;
};

struct Target {
  std::string context;     // directory
  std::string dockerfile;  // relative to context; "" = Dockerfile
  std::string repository;  // REGISTRY/NAME without tag
};

// The output of a short command, or "" when it fails.
std::string Capture(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 256> buf{};
  while (out.size() < 64 * 1024) {
    std::size_t n = std::fread(buf.data(), 1, buf.size(), p);
    if (n == 0) break;
    out.append(buf.data(), n);
  }
  return ::pclose(p) == 0 ? out : std::string();
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "git-<12 hex>" when `dir` is inside a git checkout with nothing uncommitted, else "".
std::string GitTag(const std::string& dir) {
  std::string q = ShellQuote(dir);
  std::string head = Capture("git -C " + q + " rev-parse HEAD 2>/dev/null");
  if (head.size() < 12) return "";
  std::string dirty = Capture("git -C " + q + " status --porcelain -- . 2>/dev/null");
  if (!dirty.empty()) return "";
  return "git-" + head.substr(0, 12);
}

// The repository part of an image reference: without @digest and :tag.
std::string RepositoryOf(const std::string& ref) { return runtime::SplitImageReference(ref).first; }

bool HasRegistry(const std::string& repo) {
  auto slash = repo.find('/');
  if (slash == std::string::npos) return false;
  std::string host = repo.substr(0, slash);
  return host.find('.') != std::string::npos || host.find(':') != std::string::npos ||
         host == "localhost";
}

Result<Target> ComposeTarget(const BuildOptions& opt) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(opt.file);
  } catch (const YAML::Exception& e) {
    return Error{opt.file + ": " + e.what()};
  }
  fs::path dir = fs::absolute(opt.file).parent_path();
  YAML::Node services = root["services"];
  std::string name = opt.app;
  if (name.empty()) {
    for (const auto& s : services) {
      if (s.second["build"]) {
        if (!name.empty()) return Error{opt.file + ": several services build; name one"};
        name = s.first.Scalar();
      }
    }
  }
  if (name.empty() || !services[name]) return Error{opt.file + ": no service " + name};
  YAML::Node svc = services[name];
  YAML::Node build = svc["build"];
  if (!build) {
    return Error{fmt::format("{}:{}:{}: service {} has no build:", opt.file, svc.Mark().line + 1,
                             svc.Mark().column + 1, name)};
  }
  Target t;
  t.context = (dir / (build.IsScalar() ? build.Scalar() : build["context"].as<std::string>(".")))
                  .lexically_normal()
                  .string();
  if (build.IsMap() && build["dockerfile"]) t.dockerfile = build["dockerfile"].Scalar();
  std::string project = root["name"] ? root["name"].Scalar() : dir.filename().string();
  t.repository = svc["image"] ? RepositoryOf(svc["image"].Scalar()) : project + "-" + name;
  return t;
}

Result<Target> SpecTarget(const BuildOptions& opt) {
  auto parsed = spec::ParseAppSpecFile(opt.file);
  if (!parsed.spec) {
    std::string why;
    for (const auto& d : parsed.diagnostics) why += "\n" + d.ToString();
    return Error{opt.file + " is not a valid spec:" + why};
  }
  if (!opt.app.empty() && opt.app != parsed.spec->app) {
    return Error{opt.file + " is the spec of " + parsed.spec->app + ", not " + opt.app};
  }
  Target t;
  t.context = fs::absolute(opt.file).parent_path().string();
  t.repository = parsed.spec->image.empty() || parsed.spec->image.starts_with("sha256:")
                     ? parsed.spec->app
                     : RepositoryOf(parsed.spec->image);
  return t;
}

void RunBuild(Context& ctx, const BuildOptions& opt) {
  auto fail = [&ctx](const std::string& why, int code) {
    std::cerr << "slipway build: " << why << "\n";
    ctx.exit_code = code;
  };
  auto target = spec::LooksLikeComposeFile(opt.file) ? ComposeTarget(opt) : SpecTarget(opt);
  if (!target) return fail(target.error().message, kExitBadInput);
  if (!target->dockerfile.empty()) {
    return fail("build.dockerfile is not supported yet; name it Dockerfile", kExitBadInput);
  }
  std::string repo = target->repository;
  if (!opt.registry.empty()) {
    if (HasRegistry(repo)) repo = repo.substr(repo.find('/') + 1);
    repo = opt.registry + "/" + repo;
  }
  if (opt.push && !HasRegistry(repo)) {
    return fail(repo +
                    " names no registry to push to: give --registry HOST:PORT or name it in "
                    "image: (e.g. 127.0.0.1:5000/" +
                    repo + ")",
                kExitBadInput);
  }
  if (opt.tag == "latest") return fail("the tag `latest` is mutable; Slipway never uses it", 2);
  auto context = runtime::ArchiveBuildContext(target->context);
  if (!context) return fail(context.error().message, kExitBadInput);
  std::string tag = opt.tag;
  if (tag.empty()) tag = GitTag(target->context);
  if (tag.empty()) tag = "ctx-" + context->sha256.substr(0, 12);
  const std::string ref = repo + ":" + tag;
  auto socket = runtime::DockerEngine::SocketPathOf(opt.docker_host);
  if (!socket) return fail(socket.error().message, kExitBadInput);

  boost::asio::io_context io;
  runtime::DockerEngine engine(io, *socket);
  std::cout << fmt::format("Building {} from {} ({} files, {} bytes)\n", ref, target->context,
                           context->files, context->tar.size());
  std::string last;
  auto progress = [&last](const std::string& line) {
    if (line.find('%') != std::string::npos || line == last) return;  // status changes only
    last = line;
    std::cout << "  " << line << "\n" << std::flush;
  };
  Result<std::string> built = Error{"build did not finish"};
  std::string tar = std::move(context->tar);
  engine.BuildImage(std::move(tar), ref, progress, [&built](Result<std::string> r) { built = r; });
  io.run();
  if (!built) return fail(built.error().message, kExitFailed);
  std::cout << fmt::format("Built {} as {}\n", *built, ref);
  if (!opt.push) return;
  io.restart();
  Result<std::string> pushed = Error{"push did not finish"};
  std::cout << fmt::format("Pushing {}\n", ref);
  engine.PushImage(ref, progress, [&pushed](Result<std::string> r) { pushed = r; });
  io.run();
  if (!pushed) return fail(pushed.error().message, kExitFailed);
  std::cout << fmt::format("Pushed {}: {}\n", ref, *pushed);
  std::cout << fmt::format("image: {}@{}\n", repo, *pushed);
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
  cmd->add_flag("--push", opt->push, "push to the registry and print the digest");
  cmd->add_option("--registry", opt->registry, "HOST:PORT (default: the image reference's)");
  cmd->add_option("--tag", opt->tag, "the tag (default: git-<commit> or ctx-<digest>)");
  cmd->add_option("--docker-host", opt->docker_host, "the Docker engine")->capture_default_str();
  cmd->callback([&ctx, opt] { RunBuild(ctx, *opt); });
}

}  // namespace slipway::cli
