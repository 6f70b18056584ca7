#include "proxy/traffic_split.h"

#include <algorithm>
#include <charconv>

namespace slipway::proxy {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<std::int64_t> ParseRelease(std::string_view value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  // from_chars alone would take a leading '-' and stop at trailing junk.
  if (value.empty() ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::int64_t release = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), release);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;  // overflow
  return release;
}

bool ServesRelease(const BackendList& group, std::int64_t release) {
  return std::any_of(group.begin(), group.end(),
                     [&](const std::shared_ptr<Backend>& b) { return b->release == release; });
}

}  // namespace

bool WeightSpreader::NextIsCanary(int weight_percent) {
  credit_ += std::clamp(weight_percent, 0, 100);
  if (credit_ < 100) return false;
  credit_ -= 100;
  return true;
}

RouteDecision ChooseGroup(const TrafficSplit& split, const RoutingHints& hints,
                          WeightSpreader& spreader) {
  if (!split.header.empty() && !hints.header.empty()) {
    if (IEquals(hints.header, "always")) return {ReleaseGroup::kCanary, false};
    if (IEquals(hints.header, "never")) return {ReleaseGroup::kStable, false};
  }
  if (!split.sticky_cookie.empty() && hints.cookie_release) {
    const std::int64_t release = *hints.cookie_release;
    if (split.active() && release == split.canary_release) return {ReleaseGroup::kCanary, true};
    if (ServesRelease(split.stable, release)) return {ReleaseGroup::kStable, true};
  }
  if (!split.active()) return {ReleaseGroup::kStable, true};
  return {
      spreader.NextIsCanary(split.canary_weight) ? ReleaseGroup::kCanary : ReleaseGroup::kStable,
      true};
}

std::optional<std::int64_t> FindCookieRelease(std::string_view cookie_header,
                                              std::string_view name) {
  while (!cookie_header.empty()) {
    const std::size_t end = std::min(cookie_header.find(';'), cookie_header.size());
    const std::string_view pair = cookie_header.substr(0, end);
    cookie_header.remove_prefix(std::min(end + 1, cookie_header.size()));
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || Trim(pair.substr(0, eq)) != name) continue;
    // A second cookie of the same name (another path) may still be a good one.
    if (auto release = ParseRelease(Trim(pair.substr(eq + 1)))) return release;
  }
  return std::nullopt;
}

void FormatStickyCookie(std::string_view name, std::int64_t release, std::string& out) {
  char digits[24];
  const std::to_chars_result printed = std::to_chars(digits, digits + sizeof digits, release);
  out.assign(name);
  out += '=';
  out.append(digits, printed.ptr);
  out += "; Path=/; HttpOnly; SameSite=Lax";
}

}  // namespace slipway::proxy
