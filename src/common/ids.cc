#include "common/ids.h"

#include <sys/random.h>

#include <cstdint>
#include <random>

namespace slipway {

std::string NewRequestId() {
  // One OS-seeded generator per thread: no shared state on the proxy's request path.
  thread_local std::mt19937_64 rng = [] {
    std::uint64_t seed[2] = {0, 0};
    if (getrandom(seed, sizeof(seed), 0) != sizeof(seed)) seed[0] = std::random_device{}();
    std::seed_seq seq{seed[0], seed[1]};
    return std::mt19937_64(seq);
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    std::uint64_t r = rng();
    for (int i = 0; i < 16; ++i) id[half * 16 + i] = kHex[(r >> (i * 4)) & 0xf];
  }
  return id;
}

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace slipway
