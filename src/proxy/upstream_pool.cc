#include "proxy/upstream_pool.h"

#include <utility>

namespace slipway::proxy {
namespace {

thread_local UpstreamPool* t_current = nullptr;
constexpr std::chrono::seconds kSweepEvery{1};

}  // namespace

UpstreamPool* UpstreamPool::Current() { return t_current; }
void UpstreamPool::SetCurrent(UpstreamPool* pool) { t_current = pool; }

std::unique_ptr<UpstreamConnection> UpstreamPool::Take(const std::shared_ptr<Backend>& backend) {
  auto now = Clock::now();
  if (now - last_sweep_ >= kSweepEvery) Sweep(now);
  auto it = idle_.find(backend);
  if (it == idle_.end()) return nullptr;
  if (backend->draining.load()) {
    idle_.erase(it);
    return nullptr;
  }
  std::vector<Idle>& list = it->second;
  while (!list.empty()) {
    Idle idle = std::move(list.back());
    list.pop_back();
    if (now - idle.since < kMaxIdle) return std::move(idle.connection);
  }
  return nullptr;
}

void UpstreamPool::Give(const std::shared_ptr<Backend>& backend,
                        std::unique_ptr<UpstreamConnection> connection) {
  if (backend->draining.load()) {
    idle_.erase(backend);
    return;
  }
  std::vector<Idle>& list = idle_[backend];
  if (list.size() >= kMaxIdlePerBackend) list.erase(list.begin());
  list.push_back({std::move(connection), Clock::now()});
}

void UpstreamPool::Drop(const std::shared_ptr<Backend>& backend) { idle_.erase(backend); }

std::size_t UpstreamPool::idle_count() const {
  std::size_t n = 0;
  for (const auto& [backend, list] : idle_) n += list.size();
  return n;
}

void UpstreamPool::Sweep(Clock::time_point now) {
  last_sweep_ = now;
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto backend = it->first.lock();
    std::erase_if(it->second, [&](const Idle& idle) { return now - idle.since >= kMaxIdle; });
    if (!backend || backend->draining.load() || it->second.empty()) {
      it = idle_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace slipway::proxy
