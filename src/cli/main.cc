// slipway: the daemon and its CLI in one binary.
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_context.h"
#include "runtime/log_relay.h"

namespace slipway::cli {

std::optional<api::ApiResponse> Context::Call(api::AdminClient& client, const std::string& method,
                                              const std::string& target,
                                              const nlohmann::json& body) {
  auto res = client.Call(method, target, body);
  if (!res) {
    std::cerr << "slipway: " << res.error().message << "\n";
    exit_code = kExitNoDaemon;
    return std::nullopt;
  }
  return *res;
}

void Context::FailFrom(const api::ApiResponse& response) {
  std::string msg = response.body.value("error", fmt::format("HTTP {}", response.status));
  std::cerr << "slipway: " << msg << "\n";
  if (response.body.contains("diagnostics")) {
    for (const auto& d : response.body["diagnostics"]) {
      std::cerr << d.value("text", "") << "\n";
    }
  }
  exit_code = response.status == 400 ? kExitBadInput : kExitFailed;
}

}  // namespace slipway::cli

int main(int argc, char** argv) {
  using namespace slipway::cli;
  // Hidden: the per-replica log relay the daemon starts (runtime/log_relay.h). Dispatched before
  // CLI11 so that it costs the relay nothing but its own loop.
  if (argc >= 2 && std::string_view(argv[1]) == "log-relay") {
    return slipway::runtime::LogRelayMain(argc - 2, argv + 2);
  }
  Context ctx;
  const char* env_dir = std::getenv("SLIPWAY_STATE_DIR");
  ctx.state_dir = env_dir && *env_dir ? env_dir : "/var/lib/slipway";

  CLI::App app{"Slipway: deploy, health-check, proxy and roll back web services", "slipway"};
  app.require_subcommand(1);
  app.fallthrough();  // global options such as --state-dir may follow the subcommand
  app.option_defaults()->always_capture_default();
  app.add_option("--state-dir", ctx.state_dir,
                 "daemon state directory (holds slipway.sock); env SLIPWAY_STATE_DIR")
      ->capture_default_str();
  app.set_version_flag("--version", std::string("slipway ") + SLIPWAY_VERSION);
  RegisterDaemon(app, ctx);
  RegisterDeploy(app, ctx);
  RegisterPlan(app, ctx);
  RegisterStatus(app, ctx);
  RegisterReleases(app, ctx);
  RegisterRollback(app, ctx);
  RegisterReport(app, ctx);
  RegisterRolloutControl(app, ctx);
  RegisterFlag(app, ctx);
  RegisterAlerts(app, ctx);
  RegisterExport(app, ctx);
  RegisterStop(app, ctx);
  RegisterReloadTls(app, ctx);
  RegisterLogs(app, ctx);
  RegisterValidate(app, ctx);
  RegisterBuild(app, ctx);
  RegisterVersion(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }
  return ctx.exit_code;
}
