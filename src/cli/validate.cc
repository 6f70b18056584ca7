// slipway validate FILE...
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"
#include "spec/spec_parser.h"

namespace slipway::cli {

void RegisterValidate(CLI::App& app, Context& ctx) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand(
      "validate",
      "Check specs without deploying. Prints FILE:LINE:COL: message per problem; exits 2 if any.");
  cmd->add_option("files", *files, "spec files")->required();
  cmd->callback([&ctx, files] {
    int bad = 0;
    for (const auto& file : *files) {
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
