#include "slo/slo_ledger.h"

#include <algorithm>

namespace slipway::slo {
namespace {

int SlotOf(std::int64_t second) {
  const auto slot = second % SloLedger::kSecondSlots;
  return static_cast<int>(slot < 0 ? slot + SloLedger::kSecondSlots : slot);
}

bool Before(const MinuteCounts& m, std::int64_t minute) { return m.minute < minute; }

}  // namespace

MinuteCounts& SloLedger::MinuteAt(std::int64_t minute) {
  if (minutes_.empty() || minutes_.back().minute < minute) {
    minutes_.push_back(MinuteCounts{.minute = minute});
    return minutes_.back();
  }
  auto it = std::lower_bound(minutes_.begin(), minutes_.end(), minute, Before);
  if (it == minutes_.end() || it->minute != minute) {
    it = minutes_.insert(it, MinuteCounts{.minute = minute});  // the wall clock went back
  }
  return *it;
}

void SloLedger::Restore(std::span<const MinuteCounts> minutes) {
  for (const MinuteCounts& stored : minutes) {
    MinuteCounts& m = MinuteAt(stored.minute);
    m.requests += stored.requests;
    m.errors += stored.errors;
    m.slow += stored.slow;
    m.sampled_seconds = std::min<std::uint32_t>(m.sampled_seconds + stored.sampled_seconds, 60);
    m.down_seconds = std::min(m.down_seconds + stored.down_seconds, m.sampled_seconds);
  }
}

void SloLedger::AddTraffic(std::int64_t unix_second, std::uint64_t requests, std::uint64_t errors,
                           std::uint64_t slow) {
  if (requests == 0 && errors == 0 && slow == 0) return;
  MinuteCounts& m = MinuteAt(MinuteOf(unix_second));
  m.requests += requests;
  m.errors += errors;
  m.slow += slow;
  dirty_.insert(m.minute);
  SecondCounts& s = seconds_[static_cast<std::size_t>(SlotOf(unix_second))];
  if (s.second > unix_second && s.requests + s.errors + s.slow > 0) return;  // clock went back
  if (s.second != unix_second) s = SecondCounts{.second = unix_second};
  s.requests += requests;
  s.errors += errors;
  s.slow += slow;
}

void SloLedger::AddServingSample(std::int64_t unix_second, bool down) {
  if (last_sampled_second_ && unix_second <= *last_sampled_second_) return;
  last_sampled_second_ = unix_second;
  MinuteCounts& m = MinuteAt(MinuteOf(unix_second));
  if (m.sampled_seconds >= 60) return;  // restored counts already fill the minute
  ++m.sampled_seconds;
  if (down) ++m.down_seconds;
  dirty_.insert(m.minute);
}

Tally SloLedger::Over(const Objective& objective, std::chrono::seconds window,
                      std::int64_t now_second) const {
  const std::int64_t length = std::max<std::int64_t>(window.count(), 1);
  if (objective.kind != SloKind::kAvailability && length <= kSecondSlots) {
    std::vector<SecondCounts> seconds;
    seconds.reserve(static_cast<std::size_t>(length));
    for (std::int64_t second = now_second - length + 1; second <= now_second; ++second) {
      const SecondCounts& s = seconds_[static_cast<std::size_t>(SlotOf(second))];
      if (s.second == second) seconds.push_back(s);
    }
    return TallySeconds(objective, seconds);
  }
  const std::int64_t last = MinuteOf(now_second);
  const std::int64_t first = last - (length + 59) / 60 + 1;
  auto begin = std::lower_bound(minutes_.begin(), minutes_.end(), first, Before);
  auto end = std::lower_bound(begin, minutes_.end(), last + 1, Before);
  const auto offset = static_cast<std::size_t>(begin - minutes_.begin());
  return TallyMinutes(objective,
                      std::span<const MinuteCounts>(minutes_.data() + offset,
                                                    static_cast<std::size_t>(end - begin)));
}

std::vector<MinuteCounts> SloLedger::TakeDirty() {
  std::vector<MinuteCounts> out;
  for (std::int64_t minute : dirty_) {
    auto it = std::lower_bound(minutes_.begin(), minutes_.end(), minute, Before);
    if (it != minutes_.end() && it->minute == minute) out.push_back(*it);
  }
  dirty_.clear();
  return out;
}

void SloLedger::PruneBefore(std::int64_t minute) {
  auto end = std::lower_bound(minutes_.begin(), minutes_.end(), minute, Before);
  minutes_.erase(minutes_.begin(), end);
  dirty_.erase(dirty_.begin(), dirty_.lower_bound(minute));
}

}  // namespace slipway::slo
