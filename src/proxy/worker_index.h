// The index (0..ProxyServer::worker_count()-1) of the proxy worker running the calling thread:
// what per-worker state (ReleaseWindow shards, weight spreaders) is indexed by. Set once by each
// worker thread when it starts; 0 on any other thread. Internal to the proxy module.
#pragma once

namespace slipway::proxy {

namespace internal {
inline thread_local int worker_index = 0;
}  // namespace internal

inline int CurrentWorkerIndex() { return internal::worker_index; }
inline void SetCurrentWorkerIndex(int index) { internal::worker_index = index; }

}  // namespace slipway::proxy
