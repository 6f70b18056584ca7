// AppController: everything Slipway runs for one app: its replicas (of any release), the
// proxy pool they are published to, and the rolling deploy that moves the app from one
// release to the next. Lives on the controller's io_context; not thread-safe.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
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
  std::string log_dir;  // <state-dir>/logs; replicas log to <log_dir>/<app>/
  // Called after an event of `app` is stored (wakes API clients that wait for events).
  std::function<void(const std::string& app)> on_event;
};

class AppController : private UnitListener {
 public:
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
  // Drains and stops every replica and closes the app's listener.
  void Stop(std::function<void()> done);

  bool deploying() const { return deploying_release_.has_value(); }
  std::optional<std::int64_t> deploying_release() const { return deploying_release_; }
  std::optional<std::int64_t> serving_release() const { return serving_release_; }
  bool has_replicas() const { return !units_.empty(); }
  // Replica log files of the serving release (or of any release when none is serving).
  std::vector<std::string> ReplicaLogs() const;
  nlohmann::json ToJson() const;

 private:
  struct Rollout;
  void OnUnitChanged(ReplicaUnit& unit) override;
  void OnUnitEvent(ReplicaUnit& unit, const std::string& kind, const std::string& message) override;
  void Event(std::int64_t release, const std::string& kind, const std::string& message);
  void PublishPool();
  // One evaluation step of the rolling algorithm; returns a final status when done.
  std::optional<Status> Step(Rollout& r);
  void Drive(std::shared_ptr<Rollout> r);
  Status StartUnit(std::int64_t release, const spec::AppSpec& spec);
  void Retire(ReplicaUnit* unit);
  void Reap();
  void Roll(state::Release release, spec::AppSpec spec, bool resume,
            std::function<void(Status)> done);

  AppEnv env_;
  std::string app_;
  std::shared_ptr<proxy::BackendPool> pool_;
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
