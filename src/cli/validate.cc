// slipway validate FILE...
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"
#include "spec/compose_reader.h"
#include "spec/spec_parser.h"

namespace slipway::cli {

void RegisterValidate(CLI::App& app, Context& ctx) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto profiles = std::make_shared<std::vector<std::string>>();
  auto flagged = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand(
      "validate",
      "Check specs without deploying. Prints FILE:LINE:COL: message per problem; exits 2 if any.");
  cmd->add_option("files", *files, "spec files or Compose files");
  cmd->add_option("-f,--file", *flagged, "a spec or Compose file (as the positional ones)");
  cmd->add_option("--profile", *profiles, "Compose: activate services of this profile");
  cmd->callback([&ctx, files, profiles, flagged] {
    files->insert(files->end(), flagged->begin(), flagged->end());
    if (files->empty()) {
      std::cerr << "slipway validate: give at least one file\n";
      ctx.exit_code = kExitBadInput;
      return;
    }
    int bad = 0;
    for (const auto& file : *files) {
      if (spec::LooksLikeComposeFile(file)) {
        spec::ComposeOutcome compose = spec::ReadComposeFile(file, *profiles);
        for (const auto& w : compose.warnings) std::cerr << w.ToString() << "\n";
        for (const auto& d : compose.errors) std::cerr << d.ToString() << "\n";
        if (!compose.ok()) {
          ++bad;
          continue;
        }
        std::string apps;
        for (const auto& s : compose.services) {
          apps += fmt::format("{}{} ({} replica(s))", apps.empty() ? "" : ", ", s.spec.app,
                              s.spec.replicas);
        }
        std::cout << fmt::format("{}: ok (compose project {}: {})\n", file, compose.project,
                                 apps.empty() ? "no active service" : apps);
        continue;
      }
      auto parsed = spec::ParseAppSpecFile(file);
      for (const auto& d : parsed.diagnostics) std::cerr << d.ToString() << "\n";
      if (parsed.spec) {
        std::cout << fmt::format("{}: ok (app {}, {} replica(s))\n", file, parsed.spec->app,
                                 parsed.spec->replicas);
      } else {
        ++bad;
      }
    }
    if (bad > 0) ctx.exit_code = kExitBadInput;
  });
}

}  // namespace slipway::cli
