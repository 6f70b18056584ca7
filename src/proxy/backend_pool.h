// BackendPool: the replicas an app's proxy listener may send requests to. The controller
// publishes a new immutable snapshot on every change; proxy threads read the current snapshot
// without taking a lock shared with other connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace slipway::proxy {

// One upstream replica. Shared by the controller (which drains it) and the proxy threads.
struct Backend {
  std::string id;  // "hello-r3-0"
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::int64_t release = 0;
  std::atomic<int> inflight{0};            // requests being forwarded to it right now
  std::atomic<bool> draining{false};       // set when it leaves the pool: no new requests; its
                                           // pooled keep-alive connections are closed, not reused
  std::atomic<std::uint64_t> requests{0};  // total forwarded (for status)

  // Passive health, kept by proxy::Balancer (balancer.h); here, not in the Balancer, so that it
  // survives a deploy that replaces the listener's options.
  std::atomic<int> consecutive_failures{0};  // failed requests in a row since the last success
  std::atomic<int> times_ejected{0};  // ejections in a row; scales the next ejection's length
  // Ejected (no new requests) until this steady_clock time_since_epoch().count(); 0: never.
  std::atomic<std::int64_t> ejected_until{0};
  std::atomic<std::uint64_t> ejections{0};  // total times ejected (for status and metrics)
};

using BackendList = std::vector<std::shared_ptr<Backend>>;

class BackendPool {
 public:
  BackendPool();
  // Replaces the serving set. Backends no longer listed are not touched (the caller drains).
  void Publish(BackendList backends);
  // The current set; never null. Cheap: one atomic load.
  std::shared_ptr<const BackendList> Snapshot() const;

 private:
  std::atomic<std::shared_ptr<const BackendList>> current_;
};

}  // namespace slipway::proxy
