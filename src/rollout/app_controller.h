// AppController: everything Slipway runs for one app: its replicas (of any release), the
// proxy pool they are published to (split by weight between the stable release and a canary),
// and the rollout that moves the app from one release to the next: rolling (app_controller.cc)
// or progressive, i.e. canary steps or blue-green (progressive_rollout.cc). Lives on the
// controller's io_context; not thread-safe.
#pragma once

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/result.h"
#include "metrics/exposition.h"
#include "metrics/release_window.h"
#include "metrics/request_counters.h"
#include "proxy/proxy_server.h"
#include "rollout/replica_unit.h"
#include "spec/app_spec.h"
#include "state/release_store.h"

namespace slipway::rollout {

// What the app controller needs from the daemon. All pointers outlive the controller.
struct AppEnv {
  boost::asio::io_context* io = nullptr;
  state::ReleaseStore* store = nullptr;
  proxy::ProxyServer* proxy = nullptr;
  std::string log_dir;    // <state-dir>/logs; replicas log to <log_dir>/<app>/
  std::string flags_dir;  // <state-dir>/flags; <flags_dir>/<app>/flags.json holds the app's flags
  // Called after an event of `app` is stored (wakes API clients that wait for events).
  std::function<void(const std::string& app)> on_event;
  // The docker driver: null when the daemon has no engine (a docker app's deploy then fails).
  runtime::DockerEngine* docker = nullptr;
  runtime::ContainerCensus* census = nullptr;  // containers left at start-up, for adoption
  std::string docker_owner;                    // the owner label of this daemon's containers
};

// What the SLO sampler reads of one app, once a second (see slo::SloSampler).
struct TrafficReading {
  // Every request the app's listeners answered since the controller was made (each release's
  // and the listener's own answers; monotonic while the daemon runs), its 5xx answers, and
  // those slower than the latency objective of the release that answered them.
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t slow = 0;
  bool running = false;              // its desired state is running (the Fleet sets it)
  bool has_served = false;           // a release serves (or served) the app
  bool ready = false;                // at least one ready replica is in the proxy's pool
  std::optional<spec::SloSpec> slo;  // the serving release's objectives
};

class AppController : private UnitListener {
 public:
  using Clock = std::chrono::steady_clock;
  AppController(AppEnv env, std::string app);
  ~AppController() override;
  AppController(const AppController&) = delete;
  AppController& operator=(const AppController&) = delete;

  // Rolls the app to `release` (stored, outcome "deploying") with its parsed `spec`, recording
  // events and the outcome in the store. `done` gets Ok or the reason it failed; on failure the
  // previous release keeps (or is brought back to) serving.
  void Deploy(state::Release release, spec::AppSpec spec, std::function<void(Status)> done);
  // Brings an already recorded release back up after a daemon restart; records no outcome.
  void Resume(state::Release release, spec::AppSpec spec, std::function<void(Status)> done);
  // Continues a canary or blue-green rollout that a previous daemon left at `record`, after
  // the replicas it left running were adopted (AdoptReplica). `serving` is the release that
  // served then (its replicas adopted too), if any.
  void ResumeProgressive(state::Release release, spec::AppSpec spec, state::RolloutRecord record,
                         std::optional<state::Release> serving,
                         std::optional<spec::AppSpec> serving_spec,
                         std::function<void(Status)> done);
  // Takes over a replica process a previous daemon started (its identity verified). An error
  // means it is gone or is not that process any more; the record should be dropped.
  Status AdoptReplica(const state::ReplicaRecord& record, const spec::AppSpec& spec);
  // Drains and stops every replica and closes the app's listener.
  void Stop(std::function<void()> done);

  // Operator control of a progressive rollout; an error says why it does not apply.
  Status Promote(bool full, const std::string& who);
  Status Abort(const std::string& reason, const std::string& who);
  Status Pause(const std::string& who);
  Status ResumeRollout(const std::string& who);
  bool progressive() const { return progressive_ != nullptr; }
  // Rewrites the flags file the replicas read (atomically) from the spec and the stored
  // overrides.
  Status WriteFlagsFile(const spec::AppSpec& spec);
  std::string FlagsFilePath() const;  // <flags_dir>/<app>/flags.json

  bool deploying() const { return deploying_release_.has_value(); }
  std::optional<std::int64_t> deploying_release() const { return deploying_release_; }
  std::optional<std::int64_t> serving_release() const { return serving_release_; }
  bool has_replicas() const { return !units_.empty(); }
  // The proxy's window of `release` (read by the alert rules); null when it keeps none.
  std::shared_ptr<const metrics::ReleaseWindow> WindowOf(std::int64_t release) const;
  // Replica log files of the serving release (or of any release when none is serving).
  std::vector<std::string> ReplicaLogs() const;
  nlohmann::json ToJson() const;
  TrafficReading ReadTraffic() const;
  // The app's series for /metrics: per release (requests, durations, upstream errors), per
  // replica (readiness, restarts, ejections, CPU, memory) and the rollout's position
  // (app_metrics.cc). The deploy history is the Fleet's.
  void WriteMetrics(metrics::ExpositionWriter& out) const;

  // Request counters are kept for at most this many releases per app (the newest, and always
  // those that run): a deploy does not break the rate of the old release's counters, and the
  // series of an app stay bounded however often it deploys.
  static constexpr std::size_t kKeptReleaseCounters = 5;

 private:
  struct Rollout;
  struct Progressive;
  void OnUnitStarted(ReplicaUnit& unit) override;
  void StoreReplica(ReplicaUnit& unit);
  void OnUnitChanged(ReplicaUnit& unit) override;
  void OnUnitEvent(ReplicaUnit& unit, const std::string& kind, const std::string& message) override;
  void Event(std::int64_t release, const std::string& kind, const std::string& message);
  void PublishPool();
  // One evaluation step of the rolling algorithm; returns a final status when done.
  std::optional<Status> Step(Rollout& r);
  void Drive(std::shared_ptr<Rollout> r);
  Status StartUnit(std::int64_t release, const spec::AppSpec& spec);
  std::unique_ptr<ReplicaUnit> MakeUnit(std::int64_t release, int index, std::uint16_t port,
                                        const spec::AppSpec& spec);
  const std::shared_ptr<metrics::ReleaseWindow>& WindowFor(std::int64_t release);
  const std::shared_ptr<metrics::RequestCounters>& CountersFor(std::int64_t release);
  // Where a progressive rollout is, for metrics.
  struct RolloutPosition {
    std::int64_t release = 0;
    int step = 0;   // the 1-based canary step running; 0 for blue-green
    int steps = 0;  // canary steps in the spec; 0 for blue-green
    bool paused = false;
  };
  RolloutPosition PositionOf(const Progressive& p) const;
  Status EnsureListener(const spec::AppSpec& spec);
  // Progressive rollouts (progressive_rollout.cc).
  void StartProgressive(state::Release release, spec::AppSpec spec,
                        std::function<void(Status)> done);
  void Tick(std::shared_ptr<Progressive> p);
  void WakeProgressive();    // a Tick soon, from the loop (never inside a unit's callback)
  void DetachProgressive();  // daemon shutdown: leave the stored rollout as it is
  void ScheduleTick(const std::shared_ptr<Progressive>& p, Clock::duration after);
  bool Save(Progressive& p);
  void Evaluate(Progressive& p, Clock::time_point now);
  void EnterStep(Progressive& p, int step);
  void AdvanceCanary(Progressive& p, Clock::time_point now);
  void AdvanceBlueGreen(Progressive& p, Clock::time_point now);
  void SwitchToNew(Progressive& p);
  void FinishProgressive(Progressive& p);
  void AbortProgressive(Progressive& p, const std::string& reason);
  void PauseProgressive(Progressive& p, const std::string& reason);
  std::string CheckNewReplicas(Progressive& p, Clock::time_point now);
  bool EnsureNewReplicas(Progressive& p, int wanted);
  Millis StepElapsed(const Progressive& p, Clock::time_point now) const;
  nlohmann::json ProgressiveJson(const Progressive& p) const;
  void Retire(ReplicaUnit* unit);
  void Reap();
  void Roll(state::Release release, spec::AppSpec spec, bool resume,
            std::function<void(Status)> done);
  // Docker releases: pins the image (release_image.h), then Roll()s; records a failure itself.
  void PinImageThenRoll(state::Release release, spec::AppSpec spec,
                        std::function<void(Status)> done);

  AppEnv env_;
  std::string app_;
  std::shared_ptr<proxy::BackendPool> pool_;
  std::shared_ptr<proxy::BackendPool> preview_pool_;  // blue-green: the new set only
  std::string preview_listen_;
  std::map<std::int64_t, std::shared_ptr<metrics::ReleaseWindow>> windows_;
  std::map<std::int64_t, std::shared_ptr<metrics::RequestCounters>> counters_;
  // What the app's listeners answer themselves (no backend): release "none" in /metrics.
  std::shared_ptr<metrics::RequestCounters> local_counters_;
  // The totals of counters dropped past kKeptReleaseCounters, so ReadTraffic stays monotonic.
  std::uint64_t retired_requests_ = 0;
  std::uint64_t retired_errors_ = 0;
  std::uint64_t retired_slow_ = 0;
  // The release receiving a share of the traffic beside the serving one, and its share.
  std::optional<std::int64_t> canary_release_;
  int canary_weight_ = 0;
  std::string canary_header_;
  std::string sticky_cookie_;
  std::shared_ptr<Progressive> progressive_;
  std::map<std::string, bool> stored_ready_;  // replica name -> readiness as last stored
  std::list<std::unique_ptr<ReplicaUnit>> units_;
  std::optional<std::int64_t> serving_release_;
  std::optional<spec::AppSpec> serving_spec_;
  std::optional<std::int64_t> deploying_release_;
  std::shared_ptr<Rollout> rollout_;
  std::string listen_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<std::function<void()>> stop_waiters_;
};

}  // namespace slipway::rollout
