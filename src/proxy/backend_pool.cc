#include "proxy/backend_pool.h"

#include <utility>

namespace slipway::proxy {

BackendPool::BackendPool() : current_(std::make_shared<const BackendList>()) {}

void BackendPool::Publish(BackendList backends) {
  current_.store(std::make_shared<const BackendList>(std::move(backends)),
                 std::memory_order_release);
}

std::shared_ptr<const BackendList> BackendPool::Snapshot() const {
  return current_.load(std::memory_order_acquire);
}

}  // namespace slipway::proxy
