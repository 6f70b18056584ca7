// ProbeLoop: runs ProbeOnce on a fixed cadence and turns results into healthy/unhealthy verdicts.
//
// Cadence: each probe starts `interval` after the previous one *began* (start-to-start), so a
// slow probe does not stretch the period; when a probe takes longer than the interval, the next
// starts as soon as it finished. Probes never overlap.
//
// Verdicts: `success_threshold` consecutive successes while not healthy -> OnHealthy.
// `failure_threshold` consecutive failures while healthy -> OnUnhealthy (healthy becomes false).
// While never yet healthy, OnUnhealthy runs once per threshold crossing: after
// failure_threshold failures, again after the next failure_threshold failures, and so on (the
// owner uses it to notice a start that is failing). After health was lost, further failures
// are silent until the loop is healthy again.
//
// Lifetime: the loop's state is shared with the in-flight probe and timer; Stop() bumps a
// generation number so a probe that completes later is ignored. Destroying the ProbeLoop from
// inside one of its own callbacks is allowed.
#include "health/probe_loop.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/duration.h"

namespace slipway::health {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

struct ProbeLoop::Impl : std::enable_shared_from_this<ProbeLoop::Impl> {
  Impl(asio::io_context& io, spec::Probe probe, std::uint16_t port, ProbeConsumer* consumer,
       ExecRunner* exec)
      : io(io), probe(std::move(probe)), port(port), consumer(consumer), exec(exec), timer(io) {}

  bool Current(std::uint64_t gen) const { return running && gen == generation; }

  void RunProbe(std::uint64_t gen) {
    if (probe.type == spec::ProbeType::kRunning) {
      WaitRunning(gen);
      return;
    }
    auto began = SteadyClock::now();
    ProbeOnce(io, probe, port, exec, [self = shared_from_this(), gen, began](ProbeResult result) {
      self->OnResult(gen, began, std::move(result));
    });
  }

  // A running probe: one verdict, `for` after the start, unless stopped before.
  void WaitRunning(std::uint64_t gen) {
    last = ProbeResult{false, "running for less than " + FormatDuration(probe.running_for)};
    timer.expires_after(probe.running_for);
    timer.async_wait([self = shared_from_this(), gen](const boost::system::error_code& ec) {
      if (ec || !self->Current(gen)) return;
      self->last = ProbeResult{true, "running for " + FormatDuration(self->probe.running_for)};
      self->healthy = true;
      self->ever_healthy = true;
      self->consumer->OnHealthy();
    });
  }

  void OnResult(std::uint64_t gen, SteadyClock::time_point began, ProbeResult result) {
    if (!Current(gen)) return;
    last = std::move(result);
    if (last.ok) {
      failures = 0;
      ++successes;
      if (!healthy && successes >= probe.success_threshold) {
        healthy = true;
        ever_healthy = true;
        consumer->OnHealthy();
      }
    } else {
      successes = 0;
      ++failures;
      if ((healthy || !ever_healthy) && failures >= probe.failure_threshold) {
        healthy = false;
        failures = 0;
        ProbeResult copy = last;  // the consumer may destroy the loop
        consumer->OnUnhealthy(copy);
      }
    }
    if (!Current(gen)) return;  // stopped (or destroyed) by the callback
    timer.expires_at(began + probe.interval);
    timer.async_wait([self = shared_from_this(), gen](const boost::system::error_code& ec) {
      if (ec || !self->Current(gen)) return;
      self->RunProbe(gen);
    });
  }

  asio::io_context& io;
  const spec::Probe probe;
  const std::uint16_t port;
  ProbeConsumer* const consumer;
  ExecRunner* const exec;
  asio::steady_timer timer;
  std::uint64_t generation = 0;
  bool running = false;
  bool healthy = false;
  bool ever_healthy = false;
  int successes = 0;
  int failures = 0;
  ProbeResult last;
};

ProbeLoop::ProbeLoop(asio::io_context& io, spec::Probe probe, std::uint16_t port,
                     ProbeConsumer* consumer, ExecRunner* exec)
    : impl_(std::make_shared<Impl>(io, std::move(probe), port, consumer, exec)) {}

ProbeLoop::~ProbeLoop() { Stop(); }

void ProbeLoop::Start() {
  if (impl_->running) return;
  impl_->running = true;
  impl_->successes = 0;
  impl_->failures = 0;
  impl_->RunProbe(++impl_->generation);
}

void ProbeLoop::Stop() {
  if (!impl_->running) return;
  impl_->running = false;
  ++impl_->generation;
  impl_->timer.cancel();
}

bool ProbeLoop::healthy() const { return impl_->healthy; }

const ProbeResult& ProbeLoop::last_result() const { return impl_->last; }

}  // namespace slipway::health
