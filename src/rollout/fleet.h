// Fleet: the apps one daemon runs. Turns operator requests (deploy, rollback, stop, status)
// into stored releases and AppController actions, and brings apps back after a restart.
// Lives on the controller's io_context; not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "rollout/app_controller.h"
#include "spec/spec_parser.h"

namespace slipway::rollout {

// Why a request was refused, with the HTTP status the API maps it to.
struct Refusal {
  Refusal(int status, std::string msg, std::vector<spec::Diagnostic> diags = {})
      : http_status(status), message(std::move(msg)), diagnostics(std::move(diags)) {}
  int http_status;  // 400 bad spec, 404 unknown app/release, 409 busy/conflict
  std::string message;
  std::vector<spec::Diagnostic> diagnostics;
};

template <typename T>
struct Outcome {
  std::optional<T> value;
  std::optional<Refusal> refusal;
};

struct DeployRequest {
  std::string spec_yaml;
  std::string spec_file;
  std::string base_dir;
  std::string who;
};

class Fleet {
 public:
  explicit Fleet(AppEnv env);
  // Re-reads every TLS listener's certificate and key (renewed files); see
  // ProxyServer::ReloadCertificates.
  Status ReloadCertificates();
  ~Fleet();

  // Start-up recovery: fails deploys the last daemon left unfinished and brings every app whose
  // desired state is running back to its current release.
  void Recover();

  // Stores a new release and starts rolling it out; returns it at once (outcome "deploying").
  // `done` runs when the rollout ends.
  Outcome<state::Release> Deploy(const DeployRequest& request,
                                 std::function<void(Status)> done = nullptr);
  // Redeploys release `to` (default: the last succeeded release before the serving one) as a
  // new release through the same path.
  Outcome<state::Release> Rollback(const std::string& app, std::optional<std::int64_t> to,
                                   const std::string& who);
  // Drains and stops every replica of `app`; `done` runs when nothing of it runs.
  std::optional<Refusal> Stop(const std::string& app, const std::string& who,
                              std::function<void()> done);
  // Operator control of a canary or blue-green rollout (see AppController).
  std::optional<Refusal> Promote(const std::string& app, bool full, const std::string& who);
  std::optional<Refusal> Abort(const std::string& app, const std::string& who);
  std::optional<Refusal> Pause(const std::string& app, const std::string& who);
  std::optional<Refusal> Resume(const std::string& app, const std::string& who);
  // Sets a feature flag (recorded, with an event naming `who`) and rewrites the flags file the
  // replicas read; no restart.
  std::optional<Refusal> SetFlag(const std::string& app, const std::string& name,
                                 const std::string& value, const std::string& who);
  nlohmann::json FlagsJson(const std::string& app) const;
  // The newest analysis evaluations of the app's rollout (or of `release`).
  nlohmann::json AnalysisJson(const std::string& app, std::optional<std::int64_t> release,
                              int limit) const;

  // Stops every app without changing its desired state (daemon shutdown).
  void StopAll(std::function<void()> done);

  nlohmann::json AppsJson(const std::optional<std::string>& app) const;
  // Every app's series for /metrics (see AppController::WriteMetrics), with the deploy history
  // read from the store.
  void WriteMetrics(metrics::ExpositionWriter& out) const;
  // Runs `wake` (posted, once) after the next event of `app` is stored.
  void OnNextEvent(const std::string& app, std::function<void()> wake);
  std::vector<std::string> ReplicaLogs(const std::string& app) const;
  // The proxy's window of `release` of `app` (for the alert rules); null when it keeps none.
  std::shared_ptr<const metrics::ReleaseWindow> WindowOf(const std::string& app,
                                                         std::int64_t release) const;
  bool Known(const std::string& app) const;
  // Each app that has a controller (stopped ones too: their last requests), by name.
  std::map<std::string, TrafficReading> ReadTraffic() const;

 private:
  AppController& Controller(const std::string& app);
  // The app's spec as its current release has it (for flags), or nullopt.
  std::optional<spec::AppSpec> CurrentSpec(const std::string& app) const;
  void AdoptReplicas(const std::string& app, const std::vector<state::ReplicaRecord>& records,
                     const std::map<std::int64_t, spec::AppSpec>& specs);
  Outcome<state::Release> StartRelease(const state::NewRelease& release,
                                       std::function<void(Status)> done);

  void RecordEvent(const std::string& app, const std::string& kind, const std::string& message);
  void NotifyEvent(const std::string& app);

  AppEnv env_;
  std::map<std::string, std::unique_ptr<AppController>> apps_;
  std::map<std::string, std::vector<std::function<void()>>> event_waiters_;
};

}  // namespace slipway::rollout
