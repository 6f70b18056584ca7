// What every CLI command shares: where the daemon is, how to print, and the exit codes.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "api/admin_client.h"

namespace slipway::cli {

// Exit codes (docs/cli.md): the same for every command.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,       // the operation ran and failed (deploy failed, rollback refused)
  kExitPlanChanges = 1,  // plan: the deploy would change something (0: nothing would)
  kExitBadInput = 2,     // bad flags or an invalid spec; nothing was changed
  kExitNoDaemon = 3,     // the daemon is not running or not reachable
};

struct Context {
  std::string state_dir;  // --state-dir, $SLIPWAY_STATE_DIR, or /var/lib/slipway
  int exit_code = kExitOk;

  std::string SocketPath() const { return state_dir + "/slipway.sock"; }
  // Sends one request; on transport failure prints why and sets kExitNoDaemon.
  std::optional<api::ApiResponse> Call(api::AdminClient& client, const std::string& method,
                                       const std::string& target,
                                       const nlohmann::json& body = nullptr);
  // Prints `error` from a non-2xx response and sets the exit code for it.
  void FailFrom(const api::ApiResponse& response);
};

void RegisterDaemon(CLI::App& app, Context& ctx);
void RegisterDeploy(CLI::App& app, Context& ctx);
void RegisterPlan(CLI::App& app, Context& ctx);
void RegisterStatus(CLI::App& app, Context& ctx);
void RegisterReleases(CLI::App& app, Context& ctx);
void RegisterRollback(CLI::App& app, Context& ctx);
void RegisterStop(CLI::App& app, Context& ctx);
void RegisterReloadTls(CLI::App& app, Context& ctx);
void RegisterLogs(CLI::App& app, Context& ctx);
void RegisterValidate(CLI::App& app, Context& ctx);
void RegisterVersion(CLI::App& app, Context& ctx);
void RegisterRolloutControl(CLI::App& app, Context& ctx);
void RegisterFlag(CLI::App& app, Context& ctx);
void RegisterReport(CLI::App& app, Context& ctx);
void RegisterAlerts(CLI::App& app, Context& ctx);
void RegisterExport(CLI::App& app, Context& ctx);
void RegisterBuild(CLI::App& app, Context& ctx);

// Follows a release's events until its outcome is final; prints them; returns the exit code.
int FollowRelease(Context& ctx, api::AdminClient& client, const std::string& app,
                  std::int64_t release);

}  // namespace slipway::cli
