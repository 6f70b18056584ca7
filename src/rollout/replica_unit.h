// ReplicaUnit: one replica of one release as the controller sees it: the supervised process,
// its readiness and liveness probes, and the Backend the proxy sends requests to.
// Lives on the controller's io_context; every method and callback runs on that thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "health/probe_loop.h"
#include "metrics/release_window.h"
#include "metrics/request_counters.h"
#include "proxy/backend_pool.h"
#include "runtime/docker_replica.h"
#include "runtime/process_identity.h"
#include "runtime/replica.h"
#include "spec/app_spec.h"

namespace slipway::rollout {

class ReplicaUnit;

// What a unit tells its owner. Runs on the controller thread.
class UnitListener {
 public:
  virtual ~UnitListener() = default;
  // A process was spawned or adopted for the unit (its identity may be stored).
  virtual void OnUnitStarted(ReplicaUnit& unit) = 0;
  // Readiness, process state or retirement changed: re-evaluate the pool and any rollout.
  virtual void OnUnitChanged(ReplicaUnit& unit) = 0;
  // Something an operator should see in the deploy events ("replica.exited", ...).
  virtual void OnUnitEvent(ReplicaUnit& unit, const std::string& kind,
                           const std::string& message) = 0;
};

struct UnitConfig {
  std::string app;
  std::int64_t release = 0;
  int index = 0;           // 0-based within its release
  spec::AppSpec spec;      // the release's spec
  std::uint16_t port = 0;  // assigned by the controller, passed as $PORT
  std::string log_dir;     // replica output goes to <log_dir>/<name>.log
  std::string flags_file;  // passed as $SLIPWAY_FLAGS_FILE; "" when the app has no flags
  std::map<std::string, std::string> flags;            // SLIPWAY_FLAG_<NAME> values at start
  std::shared_ptr<metrics::ReleaseWindow> window;      // the release's proxy counts
  std::shared_ptr<metrics::RequestCounters> counters;  // the release's /metrics counts
  // The docker driver (spec.image set): the engine, the containers left at start-up, and the
  // owner label of this daemon's containers. Unused by the process driver.
  runtime::DockerEngine* docker = nullptr;
  runtime::ContainerCensus* census = nullptr;
  std::string docker_owner;
};

class ReplicaUnit : private runtime::ReplicaObserver,
                    private health::ProbeConsumer,
                    private health::ExecRunner {
 public:
  using Clock = std::chrono::steady_clock;

  // `listener` must outlive the unit.
  ReplicaUnit(boost::asio::io_context& io, UnitConfig config, UnitListener* listener);
  ~ReplicaUnit() override;
  ReplicaUnit(const ReplicaUnit&) = delete;
  ReplicaUnit& operator=(const ReplicaUnit&) = delete;

  // Spawns the process (or creates the container: spec().image set); an error means it cannot
  // run at all (bad user, missing binary, no Docker engine, ...).
  Status Start();
  // Takes over the running process a previous daemon spawned for this replica (see
  // runtime::ProcessReplica::Adopt); probes start at once. `was_ready`: it passed readiness
  // under the previous daemon, so it serves at once (its probes confirm or withdraw that).
  Status Adopt(const runtime::ProcessIdentity& identity, bool was_ready);
  // The running process's identity, to store; nullopt when none runs.
  std::optional<runtime::ProcessIdentity> identity() const;
  // Restarts of the process since the unit began (crash-loop detection).
  int restarts() const;
  int pid() const;  // of the running process; 0 when none runs
  // Leaves the pool (the caller republishes it), waits for in-flight requests to finish (up to
  // the spec's drain timeout), then stops the process gracefully. `done` runs when it is gone.
  void Retire(std::function<void()> done);

  const std::string& name() const { return name_; }
  std::int64_t release() const { return config_.release; }
  int index() const { return config_.index; }
  std::uint16_t port() const { return config_.port; }
  const spec::AppSpec& spec() const { return config_.spec; }
  bool ready() const { return ready_; }
  bool ever_ready() const { return ever_ready_; }
  bool retiring() const { return retiring_; }
  bool stopped() const { return stopped_; }
  // Set when the process cannot be (re)started at all: the reason.
  const std::string& fatal_error() const { return fatal_error_; }
  // Why it is not ready, in words ("readiness probe GET /up: HTTP 503").
  std::string not_ready_reason() const;
  Clock::time_point started_at() const { return started_at_; }
  // When the start-up budget runs out (started_at + readiness.startup_timeout).
  Clock::time_point startup_deadline() const;
  const std::shared_ptr<proxy::Backend>& backend() const { return backend_; }
  std::string log_path() const;
  nlohmann::json ToJson() const;

 private:
  void OnReplicaStarted(int pid) override;
  void OnReplicaExited(int pid, const std::string& description, bool will_restart,
                       runtime::Millis restart_in) override;
  void OnHealthy() override;
  void OnUnhealthy(const health::ProbeResult& last) override;
  // Exec probes run where the replica runs: through its driver.
  void RunExec(std::vector<std::string> argv, spec::Millis timeout,
               std::function<void(ExecOutcome)> done) override;
  Status Prepare();
  runtime::ContainerSpec ContainerSpecFor(const runtime::LaunchSpec& launch) const;
  void SetReady(bool ready);
  void StartProbes();
  void StopProbes();
  void WaitForDrain(std::function<void()> done);
  void PollDrain();

  boost::asio::io_context& io_;
  UnitConfig config_;
  UnitListener* listener_;
  std::string name_;
  std::shared_ptr<proxy::Backend> backend_;
  std::unique_ptr<runtime::Replica> process_;  // a ProcessReplica or a DockerReplica
  std::unique_ptr<health::ProbeLoop> readiness_;
  std::unique_ptr<health::ProbeLoop> liveness_;
  class LivenessConsumer;
  std::unique_ptr<LivenessConsumer> liveness_consumer_;
  Clock::time_point started_at_{};
  bool ready_ = false;
  bool ever_ready_ = false;
  bool retiring_ = false;
  bool stopped_ = false;
  std::string fatal_error_;
  std::string last_exit_;
  struct Drain;  // the timer and progress of Retire(); defined in the .cc (keeps Asio out)
  std::unique_ptr<Drain> drain_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards posted callbacks
};

}  // namespace slipway::rollout
