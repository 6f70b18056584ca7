#include "proxy/proxy_fields.h"

#include <array>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
// A cached block is poisoned, so a use after free is still caught by ASan.
#define SLIPWAY_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define SLIPWAY_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define SLIPWAY_POISON(p, n) ((void)(p), (void)(n))
#define SLIPWAY_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace slipway::proxy {
namespace {

constexpr std::size_t kClasses = 5;  // 64 << 0 .. 64 << 4 bytes
constexpr std::size_t kSmallest = 64;

struct FreeBlock {
  FreeBlock* next;
};

struct FreeLists {
  std::array<FreeBlock*, kClasses> head{};
  std::array<std::size_t, kClasses> count{};
  ~FreeLists() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* b = head[c]) {
        SLIPWAY_UNPOISON(b, kSmallest << c);
        head[c] = b->next;
        ::operator delete(b);
      }
    }
  }
};

thread_local FreeLists t_lists;

// The class that holds `bytes`, or kClasses when it is too large for any.
std::size_t ClassOf(std::size_t bytes) {
  std::size_t c = 0;
  for (std::size_t size = kSmallest; size < bytes && c < kClasses; size <<= 1) ++c;
  return c;
}

}  // namespace

void* FieldBlocks::Allocate(std::size_t bytes) {
  const std::size_t c = ClassOf(bytes);
  if (c == kClasses) return ::operator new(bytes);
  FreeLists& lists = t_lists;
  if (FreeBlock* b = lists.head[c]) {
    SLIPWAY_UNPOISON(b, kSmallest << c);
    lists.head[c] = b->next;
    --lists.count[c];
    // Only the asked-for bytes may be used: ASan catches writes past them, as with malloc.
    SLIPWAY_POISON(static_cast<char*>(static_cast<void*>(b)) + bytes, (kSmallest << c) - bytes);
    return b;
  }
  void* block = ::operator new(kSmallest << c);
  SLIPWAY_POISON(static_cast<char*>(block) + bytes, (kSmallest << c) - bytes);
  return block;
}

void FieldBlocks::Free(void* block, std::size_t bytes) noexcept {
  if (block == nullptr) return;
  const std::size_t c = ClassOf(bytes);
  FreeLists& lists = t_lists;
  if (c == kClasses || lists.count[c] >= kMaxCachedPerClass) {
    if (c < kClasses) SLIPWAY_UNPOISON(block, kSmallest << c);
    ::operator delete(block);
    return;
  }
  SLIPWAY_UNPOISON(block, kSmallest << c);
  auto* b = static_cast<FreeBlock*>(block);
  b->next = lists.head[c];
  lists.head[c] = b;
  ++lists.count[c];
  SLIPWAY_POISON(b, kSmallest << c);
}

}  // namespace slipway::proxy
