// BackendPool: the replicas an app's proxy listener may send requests to, as a TrafficSplit
// (the serving release's replicas and, during a canary, the canary's). The controller publishes
// a new immutable snapshot on every change; proxy threads read the current snapshot without
// taking a lock shared with other connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace slipway::metrics {
class ReleaseWindow;
class RequestCounters;
}  // namespace slipway::metrics

namespace slipway::proxy {

// One upstream replica. Shared by the controller (which drains it) and the proxy threads.
struct Backend {
  std::string id;  // "hello-r3-0"
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::int64_t release = 0;
  // Where the proxy records every request this backend answered (or failed); replicas of one
  // release share one. Null: nothing recorded. Set before the backend is first published and
  // never changed after (proxy threads read it without synchronization). Its shards must number
  // at least ProxyServer::worker_count().
  std::shared_ptr<metrics::ReleaseWindow> window;
  // Where the proxy counts every client request this backend answered last (for /metrics);
  // replicas of one release share one. Same rules as `window` (null: nothing counted).
  std::shared_ptr<metrics::RequestCounters> counters;
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

// Which replicas get a request (members default-initialized, so designated initializers may
// leave any out): the stable group unless the request is routed to the canary
// by header, sticky cookie or weight (see traffic_split.h for the rules).
struct TrafficSplit {
  BackendList stable{};  // the serving release's replicas
  BackendList canary{};  // the canary's; empty: no split
  std::int64_t canary_release = 0;
  int canary_weight = 0;  // percent (0..100) of requests without a routing header/cookie
  // Request header that routes one request: value "always" -> canary, "never" -> stable
  // (case-insensitive; other values are ignored). "": off.
  std::string header{};
  // Cookie pinning a client to a release: `<name>=<release number>`. "": off.
  std::string sticky_cookie{};

  // True while there is a canary to split traffic with.
  bool active() const { return !canary.empty(); }
};

class BackendPool {
 public:
  BackendPool();
  // Replaces the serving set with `backends` as the stable group, no canary. Backends no longer
  // listed are not touched (the caller drains).
  void Publish(BackendList backends);
  // Replaces the whole split (same rule for backends no longer listed).
  void PublishSplit(TrafficSplit split);
  // The current split; never null. Cheap: one atomic load.
  std::shared_ptr<const TrafficSplit> Snapshot() const;

 private:
  std::atomic<std::shared_ptr<const TrafficSplit>> current_;
};

}  // namespace slipway::proxy
