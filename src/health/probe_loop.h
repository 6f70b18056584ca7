// Health probes: one probe (HTTP GET expecting 2xx/3xx, a TCP connect, or a command run where the
// replica runs, expecting exit 0) and a ProbeLoop that runs a probe every interval and applies
// success/failure thresholds; a `running` probe instead turns healthy once the loop has run for
// `for` (its owner stops the loop when the replica exits). Runs on one io_context thread;
// callbacks run there.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/exec_outcome.h"
#include "spec/app_spec.h"

namespace boost::asio {
class io_context;
}

namespace slipway::health {

struct ProbeResult {
  bool ok = false;
  std::string detail;  // "HTTP 200", "HTTP 503", "connect: Connection refused", "timeout after 1s"
};

// Runs an exec probe's command where the replica runs (health knows nothing of processes or
// containers). `done` runs exactly once on the io_context, at the latest shortly after `timeout`,
// by when the command has been killed.
class ExecRunner {
 public:
  virtual ~ExecRunner() = default;
  virtual void RunExec(std::vector<std::string> argv, spec::Millis timeout,
                       std::function<void(ExecOutcome)> done) = 0;
};

// "exit 0"; "exit 1: <first line of output>"; "timeout after 1s (killed)"; the runner's error.
ProbeResult ExecProbeResult(const ExecOutcome& outcome, spec::Millis timeout);

// Probes 127.0.0.1:`port` once (exec: runs the command through `exec`, which may be null only
// for other types); `done` runs exactly once, within probe.timeout (+ scheduling). Not for
// running probes.
void ProbeOnce(boost::asio::io_context& io, const spec::Probe& probe, std::uint16_t port,
               ExecRunner* exec, std::function<void(ProbeResult)> done);

class ProbeConsumer {
 public:
  virtual ~ProbeConsumer() = default;
  // After success_threshold consecutive successes (while not healthy).
  virtual void OnHealthy() = 0;
  // After failure_threshold consecutive failures (while healthy, or never yet healthy);
  // `last` is the last failing probe.
  virtual void OnUnhealthy(const ProbeResult& last) = 0;
};

class ProbeLoop {
 public:
  // `consumer` (and `exec`, needed by exec probes) must outlive the loop. The first probe runs
  // at once when started.
  ProbeLoop(boost::asio::io_context& io, spec::Probe probe, std::uint16_t port,
            ProbeConsumer* consumer, ExecRunner* exec = nullptr);
  ~ProbeLoop();  // stops; no callback runs after destruction
  ProbeLoop(const ProbeLoop&) = delete;
  ProbeLoop& operator=(const ProbeLoop&) = delete;

  void Start();
  void Stop();
  bool healthy() const;
  const ProbeResult& last_result() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace slipway::health
