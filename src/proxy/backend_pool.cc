#include "proxy/backend_pool.h"

#include <utility>

namespace slipway::proxy {

BackendPool::BackendPool() : current_(std::make_shared<const TrafficSplit>()) {}

void BackendPool::Publish(BackendList backends) {
  TrafficSplit split;
  split.stable = std::move(backends);
  PublishSplit(std::move(split));
}

void BackendPool::PublishSplit(TrafficSplit split) {
  current_.store(std::make_shared<const TrafficSplit>(std::move(split)), std::memory_order_release);
}

std::shared_ptr<const TrafficSplit> BackendPool::Snapshot() const {
  return current_.load(std::memory_order_acquire);
}

}  // namespace slipway::proxy
