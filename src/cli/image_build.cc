#include "cli/image_build.h"

#include <array>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>

#include "runtime/build_context.h"
#include "runtime/docker_engine.h"

namespace slipway::cli {

namespace {

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

}  // namespace

bool NamesRegistryHost(const std::string& repo) {
  auto slash = repo.find('/');
  if (slash == std::string::npos) return false;
  std::string host = repo.substr(0, slash);
  return host.find('.') != std::string::npos || host.find(':') != std::string::npos ||
         host == "localhost";
}

Result<ImageBuild> ImageBuildOf(const spec::AppSpec& spec, const std::string& docker_host) {
  ImageBuild b;
  b.context = spec.build->context;
  b.dockerfile = spec.build->dockerfile == "Dockerfile" ? "" : spec.build->dockerfile;
  b.args = spec.build->args;
  b.repository = runtime::SplitImageReference(spec.image).first;
  b.push = NamesRegistryHost(b.repository);
  b.docker_host = docker_host;
  if (spec.registry && !spec.registry->username.empty() &&
      b.repository.starts_with(spec.registry->server + "/")) {
    auto auth = runtime::RegistryAuthFromFile(spec.registry->server, spec.registry->username,
                                              spec.registry->password_file);
    if (!auth) return auth.error();
    b.registry_auth = *auth;
  }
  return b;
}

std::optional<BuiltImage> BuildAndPushImage(const ImageBuild& request, std::ostream& out,
                                            ImageBuildFailure& failure) {
  auto fail = [&failure](std::string why, bool bad_input) -> std::optional<BuiltImage> {
    failure = {std::move(why), bad_input};
    return std::nullopt;
  };
  const std::string& repo = request.repository;
  if (request.push && !NamesRegistryHost(repo)) {
    return fail(repo +
                    " names no registry to push to: give --registry HOST:PORT, a registry: in "
                    "the spec, or name it in image: (e.g. 127.0.0.1:5000/" +
                    repo + ")",
                true);
  }
  if (request.tag == "latest")
    return fail("the tag `latest` is mutable; Slipway never uses it", true);
  auto context = runtime::ArchiveBuildContext(request.context);
  if (!context) return fail(context.error().message, true);
  const std::string dockerfile = request.dockerfile.empty() ? "Dockerfile" : request.dockerfile;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::path(request.context) / dockerfile, ec)) {
    return fail(fmt::format("no {} in the build context {}", dockerfile, request.context), true);
  }
  std::string tag = request.tag;
  if (tag.empty()) tag = GitTag(request.context);
  if (tag.empty()) tag = "ctx-" + context->sha256.substr(0, 12);
  BuiltImage built;
  built.tagged = repo + ":" + tag;
  auto socket = runtime::DockerEngine::SocketPathOf(request.docker_host);
  if (!socket) return fail(socket.error().message, true);

  boost::asio::io_context io;
  runtime::DockerEngine engine(io, *socket);
  out << fmt::format("Building {} from {} ({} files, {} bytes)\n", built.tagged, request.context,
                     context->files, context->tar.size());
  std::string last;
  auto progress = [&last, &out](const std::string& line) {
    if (line.find('%') != std::string::npos || line == last) return;  // status changes only
    last = line;
    out << "  " << line << "\n" << std::flush;
  };
  Result<std::string> id = Error{"build did not finish"};
  std::string tar = std::move(context->tar);
  runtime::DockerEngine::BuildParams params{built.tagged, request.dockerfile, request.args};
  engine.BuildImage(std::move(tar), params, progress, [&id](Result<std::string> r) { id = r; });
  io.run();
  if (!id) return fail(id.error().message, false);
  built.image_id = *id;
  out << fmt::format("Built {} as {}\n", built.image_id, built.tagged);
  if (!request.push) return built;
  io.restart();
  Result<std::string> pushed = Error{"push did not finish"};
  out << fmt::format("Pushing {}\n", built.tagged);
  engine.PushImage(built.tagged, request.registry_auth, progress,
                   [&pushed](Result<std::string> r) { pushed = r; });
  io.run();
  if (!pushed) return fail(pushed.error().message, false);
  built.digest = *pushed;
  out << fmt::format("Pushed {}: {}\n", built.tagged, built.digest);
  return built;
}

}  // namespace slipway::cli
