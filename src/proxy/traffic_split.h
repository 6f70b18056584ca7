// Traffic splitting between a stable and a canary release: which group a request goes to.
// Pure functions and a small per-worker spreader, socket-free; the request path
// (client_session.cc) feeds them the request's routing header and cookie, then picks a backend
// within the group with the Balancer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/backend_pool.h"

namespace slipway::proxy {

enum class ReleaseGroup { kStable, kCanary };

// The other group: where a request goes when its own group has no usable backend.
constexpr ReleaseGroup OtherGroup(ReleaseGroup group) {
  return group == ReleaseGroup::kCanary ? ReleaseGroup::kStable : ReleaseGroup::kCanary;
}

// What one request says about its routing.
struct RoutingHints {
  std::string_view header{};                     // the split's routing header's value; "" absent
  std::optional<std::int64_t> cookie_release{};  // the sticky cookie's release, when well-formed
};

struct RouteDecision {
  ReleaseGroup group = ReleaseGroup::kStable;
  // Chosen by cookie or weight (not by the routing header): the client may be pinned to the
  // release that serves it with a sticky cookie.
  bool sticky = false;
};

// Spreads requests over the canary by weight, deterministically rather than at random: of any
// n consecutive calls with one weight w, floor(n*w/100) or that plus one go to the canary
// (a Bresenham accumulator). Weight 0 never picks the canary, 100 always. Not thread-safe: one
// per worker per listener.
class WeightSpreader {
 public:
  // True when this request goes to the canary. `weight_percent` is clamped to 0..100.
  bool NextIsCanary(int weight_percent);

 private:
  int credit_ = 0;  // in [0, 100)
};

// The group for one request, by the first rule that applies:
//  1. the routing header (split.header set): "always" -> canary, "never" -> stable;
//  2. the sticky cookie (split.sticky_cookie set) naming the canary release (canary non-empty)
//     or the release of a stable backend;
//  3. otherwise, while the split is active, the weight (advancing `spreader`); else stable.
// The group may still be empty or unusable: the caller falls back to the other one.
RouteDecision ChooseGroup(const TrafficSplit& split, const RoutingHints& hints,
                          WeightSpreader& spreader);

// The release named by cookie `name` in one Cookie header value ("a=1; slipway=7"): decimal
// digits, optionally double-quoted. Nullopt when the cookie is absent or its value is not a
// release number. Names compare case-sensitively (RFC 6265). No allocation.
std::optional<std::int64_t> FindCookieRelease(std::string_view cookie_header,
                                              std::string_view name);

// Replaces `out` with a Set-Cookie value pinning a client to `release`:
// "<name>=<release>; Path=/; HttpOnly; SameSite=Lax". `out` is reused (no allocation once it
// has grown to fit).
void FormatStickyCookie(std::string_view name, std::int64_t release, std::string& out);

}  // namespace slipway::proxy
