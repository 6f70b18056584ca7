#include "report/traffic_exposure.h"

#include <cctype>
#include <string_view>

namespace slipway::report {
namespace {

// "release 7 gets 20% of the traffic (was 0%)" -> 20; nullopt when the wording is not that.
std::optional<int> WeightOf(std::string_view message) {
  constexpr std::string_view kGets = " gets ";
  const std::size_t at = message.find(kGets);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t pos = at + kGets.size();
  int weight = 0;
  const std::size_t first = pos;
  while (pos < message.size() && std::isdigit(static_cast<unsigned char>(message[pos])) &&
         pos - first < 3) {
    weight = weight * 10 + (message[pos] - '0');
    ++pos;
  }
  if (pos == first || pos >= message.size() || message[pos] != '%') return std::nullopt;
  return weight;
}

}  // namespace

std::optional<std::string> FirstProductionTraffic(const state::Release& release,
                                                  const std::vector<state::Event>& events) {
  bool progressive = false;
  for (const auto& e : events) {
    if (e.release == release.number && e.kind == "rollout.started") progressive = true;
  }
  const std::string own_replica = release.app + "-r" + std::to_string(release.number) + "-";
  for (const auto& e : events) {
    if (e.release != release.number) continue;
    if (progressive) {
      if (e.kind == "rollout.promoted") return e.at;
      if (e.kind == "rollout.weight") {
        // An unreadable weight counts as traffic: the report errs towards a change failure.
        auto weight = WeightOf(e.message);
        if (!weight || *weight > 0) return e.at;
      }
    } else if (e.kind == "replica.ready" && e.message.starts_with(own_replica)) {
      return e.at;
    }
  }
  return std::nullopt;
}

}  // namespace slipway::report
