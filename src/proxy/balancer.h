// Balancer: which backend gets a request (least requests or round robin), and passive health
// (outlier ejection) from the outcomes of the requests it sent. Lock-free and socket-free.
//
// A Balancer holds only its options and a rotation counter: every per-backend fact (inflight,
// consecutive failures, ejection) lives in the Backend, so a deploy that changes the options
// replaces the Balancer without losing what the backends have shown. Thread-safe: one Balancer
// is shared by every connection of a listener. Time is passed in (`now`), never read here.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/backend_pool.h"
#include "proxy/proxy_server.h"

namespace slipway::proxy {

// A backend picked for one request. While held, the backend's `inflight` counts it.
class BackendLease {
 public:
  BackendLease() = default;
  explicit BackendLease(std::shared_ptr<Backend> backend) : backend_(std::move(backend)) {
    if (backend_) backend_->inflight.fetch_add(1);
  }
  ~BackendLease() { Reset(); }
  BackendLease(BackendLease&& other) noexcept : backend_(std::move(other.backend_)) {}
  BackendLease& operator=(BackendLease&& other) noexcept {
    if (this != &other) {
      Reset();
      backend_ = std::move(other.backend_);
    }
    return *this;
  }
  void Reset() {
    if (backend_) backend_->inflight.fetch_sub(1);
    backend_.reset();
  }
  explicit operator bool() const { return backend_ != nullptr; }
  const std::shared_ptr<Backend>& backend() const { return backend_; }
  Backend* operator->() const { return backend_.get(); }

 private:
  std::shared_ptr<Backend> backend_;
};

// How one request to a backend ended, as far as the backend's health goes.
enum class UpstreamOutcome {
  kSuccess,       // an answer in time (any status below 500, or 5xx when !count_5xx)
  kConnectError,  // TCP connect failed or the connection broke before an answer
  kTimeout,       // connect or response deadline passed
  kServerError,   // a 5xx answer; a failure only when OutlierOptions::count_5xx
  kClientAbort,   // the client went away: not the backend's fault, ignored
};

class Balancer {
 public:
  using Clock = std::chrono::steady_clock;

  // `app` only names the listener in log lines.
  Balancer(Balancing balancing, OutlierOptions outlier, std::string app = {});
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // A lease on one of `snapshot`'s non-draining backends other than `exclude`, or an empty lease
  // when there is none. Ejected backends are skipped while a healthy candidate remains and the
  // ejected share of the pool is within max_ejected_percent; otherwise they are picked like the
  // rest (trying an ejected replica beats answering 503).
  BackendLease Pick(const BackendList& snapshot, const Backend* exclude, Clock::time_point now);

  // Feeds one request's outcome into `backend`'s passive health. `snapshot` is the pool the
  // backend serves in (the listener's current one): the max_ejected_percent cap is judged
  // against it, and a backend not in it (removed, draining) is never ejected.
  void Record(const BackendList& snapshot, Backend& backend, UpstreamOutcome outcome,
              Clock::time_point now);

  // True while `backend` is ejected at `now` (for status; Pick applies the cap on top).
  static bool Ejected(const Backend& backend, Clock::time_point now);

  Balancing balancing() const { return balancing_; }
  const OutlierOptions& outlier() const { return outlier_; }

 private:
  void RecordFailure(const BackendList& snapshot, Backend& backend, std::int64_t now);
  // How many of `serving` backends may be ejected at once.
  int EjectionCap(int serving) const;

  const Balancing balancing_;
  const OutlierOptions outlier_;
  const std::string app_;
  std::atomic<std::uint64_t> next_{0};  // rotation start: ties and round robin
};

}  // namespace slipway::proxy
