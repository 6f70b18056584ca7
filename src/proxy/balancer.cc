#include "proxy/balancer.h"

#include <algorithm>
#include <utility>

#include "common/log.h"

namespace slipway::proxy {

constexpr log::Logger kLog{"proxy"};
namespace {

using Clock = Balancer::Clock;

std::int64_t Ticks(Clock::time_point t) { return t.time_since_epoch().count(); }

bool EjectedAt(const Backend& backend, std::int64_t now) {
  return backend.ejected_until.load(std::memory_order_relaxed) > now;
}

}  // namespace

Balancer::Balancer(Balancing balancing, OutlierOptions outlier, std::string app)
    : balancing_(balancing), outlier_(outlier), app_(std::move(app)) {}

bool Balancer::Ejected(const Backend& backend, Clock::time_point now) {
  return EjectedAt(backend, Ticks(now));
}

int Balancer::EjectionCap(int serving) const {
  if (!outlier_.enabled || outlier_.max_ejected_percent <= 0) return 0;
  const int cap = static_cast<int>(std::int64_t{serving} * outlier_.max_ejected_percent / 100);
  // As in Envoy, a cap below one backend's share still lets one go, so that a 10% cap also
  // protects a two-replica app. A lone backend is ejected only at 100% (and still picked).
  return cap == 0 && serving >= 2 ? 1 : cap;
}

BackendLease Balancer::Pick(const BackendList& snapshot, const Backend* exclude,
                            Clock::time_point now) {
  const std::size_t n = snapshot.size();
  if (n == 0) return {};
  const std::int64_t t = Ticks(now);
  // The rotating start spreads ties (and round robin) evenly over equal backends.
  const std::uint64_t start = next_.fetch_add(1, std::memory_order_relaxed);
  // A failed attempt below found one more backend draining, and `draining` is never cleared, so
  // n + 1 attempts always end.
  for (std::size_t attempt = 0; attempt <= n; ++attempt) {
    const std::shared_ptr<Backend>* healthy = nullptr;  // the best one not ejected
    const std::shared_ptr<Backend>* any = nullptr;      // the best one, ejected or not
    int healthy_load = 0;
    int any_load = 0;
    int serving = 0;
    int ejected = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::shared_ptr<Backend>& candidate = snapshot[(start + i) % n];
      if (candidate->draining.load(std::memory_order_relaxed)) continue;
      ++serving;
      const bool is_ejected = outlier_.enabled && EjectedAt(*candidate, t);
      ejected += is_ejected ? 1 : 0;
      if (candidate.get() == exclude) continue;
      // Round robin: every load is equal, so the first in rotation order wins.
      const int load = balancing_ == Balancing::kLeastRequests
                           ? candidate->inflight.load(std::memory_order_relaxed)
                           : 0;
      if (any == nullptr || load < any_load) {
        any = &candidate;
        any_load = load;
      }
      if (!is_ejected && (healthy == nullptr || load < healthy_load)) {
        healthy = &candidate;
        healthy_load = load;
      }
    }
    // More ejected than the cap allows (concurrent ejections, or the pool shrank): ejection is
    // ignored until it is back within the cap.
    const bool honour_ejections = ejected <= EjectionCap(serving);
    const std::shared_ptr<Backend>* choice = honour_ejections && healthy ? healthy : any;
    if (choice == nullptr) return {};
    // The lease raises `inflight` (seq_cst) before `draining` is read again (seq_cst): a
    // controller that sets `draining` and then reads inflight == 0 knows that no request can
    // still pick this backend. The first `draining` read above is only a filter.
    BackendLease lease(*choice);
    if (!(*choice)->draining.load()) return lease;
  }
  return {};
}

void Balancer::Record(const BackendList& snapshot, Backend& backend, UpstreamOutcome outcome,
                      Clock::time_point now) {
  if (!outlier_.enabled) return;
  const std::int64_t t = Ticks(now);
  switch (outcome) {
    case UpstreamOutcome::kClientAbort:
      return;
    case UpstreamOutcome::kConnectError:
    case UpstreamOutcome::kTimeout:
      RecordFailure(snapshot, backend, t);
      return;
    case UpstreamOutcome::kServerError:
      if (outlier_.count_5xx) {
        RecordFailure(snapshot, backend, t);
        return;
      }
      [[fallthrough]];  // it answered in time: alive, as far as ejection goes
    case UpstreamOutcome::kSuccess:
      break;
  }
  // Loads before stores: a healthy backend's counters stay 0 and are never written, so the
  // cache line stays shared between the threads reading it.
  if (backend.consecutive_failures.load(std::memory_order_relaxed) != 0) {
    backend.consecutive_failures.store(0, std::memory_order_relaxed);
  }
  int times = backend.times_ejected.load(std::memory_order_acquire);
  if (times != 0 && !EjectedAt(backend, t)) {
    // Answering after its ejection ended: the streak is over. The acquire above pairs with the
    // ejector's release, so an ejection counted in `times` is seen as ongoing; a CAS, so an
    // ejection that starts meanwhile keeps its count.
    backend.times_ejected.compare_exchange_strong(times, 0, std::memory_order_relaxed);
  }
}

void Balancer::RecordFailure(const BackendList& snapshot, Backend& backend, std::int64_t now) {
  const int failures = backend.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (failures < outlier_.consecutive_failures) return;
  std::int64_t until = backend.ejected_until.load(std::memory_order_relaxed);
  if (until > now) return;  // already ejected: requests sent before it still end

  // The cap is judged against the pool as it is now. A backend that is not serving in it
  // (removed, draining) gets no new requests anyway: not ejected.
  int serving = 0;
  int ejected = 0;
  bool serves = false;
  for (const std::shared_ptr<Backend>& other : snapshot) {
    if (other->draining.load(std::memory_order_relaxed)) continue;
    ++serving;
    if (other.get() == &backend) {
      serves = true;
    } else if (EjectedAt(*other, now)) {
      ++ejected;
    }
  }
  // Over the cap, the failures stay counted: the next failure after room frees up ejects it.
  if (!serves || ejected + 1 > EjectionCap(serving)) return;

  // Of the threads that saw the threshold reached, the one whose CAS wins ejects (and logs).
  const auto base = std::chrono::duration_cast<Clock::duration>(outlier_.base_ejection);
  if (!backend.ejected_until.compare_exchange_strong(until, now + base.count(),
                                                     std::memory_order_relaxed)) {
    return;
  }
  // Release: a success that reads this count also sees the ejected_until written above.
  const int times = backend.times_ejected.fetch_add(1, std::memory_order_release) + 1;
  // In milliseconds first: base x times cannot overflow there (base <= 1h, times < 2^31).
  const std::chrono::milliseconds length =
      std::min(outlier_.base_ejection * std::int64_t{times}, outlier_.max_ejection);
  backend.ejected_until.store(now + std::chrono::duration_cast<Clock::duration>(length).count(),
                              std::memory_order_relaxed);
  backend.consecutive_failures.store(0, std::memory_order_relaxed);
  backend.ejections.fetch_add(1, std::memory_order_relaxed);
  kLog.Warn("backend ejected", {{"app", app_},
                                {"backend", backend.id},
                                {"release", backend.release},
                                {"consecutive_failures", failures},
                                {"times_ejected", times},
                                {"ejection_ms", length.count()}});
}

}  // namespace slipway::proxy
