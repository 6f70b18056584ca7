// DockerReplica: one replica as one Docker container, through the Engine API (DockerEngine).
// The container is labelled with app, release, replica, owner and a random token (the proof of
// identity a restarted daemon adopts it by), created with Docker's restart policy off: when it
// exits, Slipway starts the same container again through the same capped back-off as a process
// replica. Stop: the stop signal, the kill after the grace period, then the container is
// removed. Its output is read through the API (logs, timestamps) into the replica's log file as
// JSON lines; after an adoption reading resumes after the last line written.
// Lives on one io_context; every method and callback runs there.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/container_spec.h"
#include "runtime/docker_engine.h"
#include "runtime/replica.h"

namespace boost::asio {
class io_context;
}

namespace slipway::runtime {

// A container an earlier daemon left behind, as listed at start-up.
struct LeftContainer {
  std::string id;
  std::string name;
  bool running = false;
  std::map<std::string, std::string> labels;
};

// The containers of this daemon (its owner label) that existed when it started, listed once
// before any replica is adopted, so that Adopt() can answer at once. Keyed by token.
class ContainerCensus {
 public:
  void Add(LeftContainer container);
  // Takes the container labelled with `token` out of the census; nullopt when there is none.
  std::optional<LeftContainer> Take(const std::string& token);
  // Those nobody adopted (to be removed once recovery is over).
  std::vector<LeftContainer> TakeRemaining();
  bool empty() const { return by_token_.empty(); }

 private:
  std::map<std::string, LeftContainer> by_token_;
};

class DockerReplica : public Replica {
 public:
  // `engine`, `census` (may be null: nothing to adopt) and `observer` must outlive the replica.
  DockerReplica(boost::asio::io_context& io, DockerEngine* engine, ContainerCensus* census,
                ContainerSpec spec, ReplicaObserver* observer, BackoffPolicy backoff = {});
  // A container still there is force-removed (a blocking Engine API call, bounded); a graceful
  // daemon stop calls Stop() first.
  ~DockerReplica() override;
  DockerReplica(const DockerReplica&) = delete;
  DockerReplica& operator=(const DockerReplica&) = delete;

  // Creates and starts the container (asynchronously: a failure to create or to start it the
  // first time is reported through OnReplicaExited with will_restart false). A leftover
  // container of the same name that Slipway made is removed first.
  Status Start() override;
  // Takes over the running container labelled with identity.token (from the census), after
  // checking that its app, release and replica labels are this replica's.
  Status Adopt(const ReplicaIdentity& identity) override;
  void Restart(const std::string& reason) override;
  void Stop(std::function<void()> on_stopped) override;
  // Inside the running container, as its user: RunDockerExec.
  void RunExec(std::vector<std::string> argv, Millis timeout,
               std::function<void(ExecOutcome)> done) override;

  int pid() const override;  // the container's main process as the host sees it
  std::optional<ReplicaIdentity> identity() const override;
  ReplicaState state() const override;
  int restarts() const override;
  const LimitsReport& limits() const override;
  const std::string& container_id() const;  // "" before it is created
  const ContainerSpec& spec() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace slipway::runtime
