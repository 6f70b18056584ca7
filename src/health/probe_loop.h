// Health probes: one probe (HTTP GET expecting 2xx/3xx, or a TCP connect) and a ProbeLoop that
// runs a probe every interval and applies success/failure thresholds. Runs on one io_context
// thread; callbacks run there.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "spec/app_spec.h"

namespace boost::asio {
class io_context;
}

namespace slipway::health {

struct ProbeResult {
  bool ok = false;
  std::string detail;  // "HTTP 200", "HTTP 503", "connect: Connection refused", "timeout after 1s"
};

// Probes 127.0.0.1:`port` once; `done` runs exactly once, within probe.timeout (+ scheduling).
void ProbeOnce(boost::asio::io_context& io, const spec::Probe& probe, std::uint16_t port,
               std::function<void(ProbeResult)> done);

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
  // `consumer` must outlive the loop. The first probe runs at once when started.
  ProbeLoop(boost::asio::io_context& io, spec::Probe probe, std::uint16_t port,
            ProbeConsumer* consumer);
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
