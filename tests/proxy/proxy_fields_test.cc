#include "proxy/proxy_fields.h"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace slipway::proxy {
namespace {

TEST(FieldBlocksTest, AFreedBlockIsHandedOutAgainForTheSameClass) {
  void* a = FieldBlocks::Allocate(40);
  FieldBlocks::Free(a, 40);
  void* b = FieldBlocks::Allocate(60);  // same class (64 bytes)
  EXPECT_EQ(a, b);
  FieldBlocks::Free(b, 60);
  void* c = FieldBlocks::Allocate(100);  // the next class: not that block
  EXPECT_NE(c, a);
  FieldBlocks::Free(c, 100);
}

TEST(FieldBlocksTest, LargeBlocksAreNotCachedAndTheCacheIsBounded) {
  void* big = FieldBlocks::Allocate(70 * 1024);
  static_cast<char*>(big)[70 * 1024 - 1] = 'x';  // ASan checks it is really that large
  FieldBlocks::Free(big, 70 * 1024);
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < FieldBlocks::kMaxCachedPerClass + 100; ++i) {
    blocks.push_back(FieldBlocks::Allocate(200));
  }
  for (void* b : blocks) FieldBlocks::Free(b, 200);  // past the cap they go back to the heap
  std::set<void*> reused;
  for (std::size_t i = 0; i < FieldBlocks::kMaxCachedPerClass + 100; ++i) {
    reused.insert(FieldBlocks::Allocate(200));
  }
  std::size_t same = 0;
  for (void* b : blocks) same += reused.count(b);
  EXPECT_GE(same, FieldBlocks::kMaxCachedPerClass);  // the cached ones came back
  for (void* b : reused) FieldBlocks::Free(b, 200);
}

#if defined(__SANITIZE_ADDRESS__)
TEST(FieldBlocksDeathTest, ACachedBlockIsPoisonedForASan) {
  // abort_on_error makes the report kill the child process.
  EXPECT_DEATH(
      {
        char* p = static_cast<char*>(FieldBlocks::Allocate(48));
        FieldBlocks::Free(p, 48);
        p[0] = 'x';  // use after free: in the cache, still caught
      },
      "use-after-poison|heap-use-after-free");
}
#endif

TEST(FieldBlocksTest, HeadersWorkAndBlocksMayMoveBetweenThreads) {
  auto fields = std::make_unique<ProxyFields>();
  for (int i = 0; i < 50; ++i) fields->set("X-H" + std::to_string(i), std::string(i * 20, 'v'));
  EXPECT_EQ((*fields)["X-H49"].size(), 980u);
  std::thread other([&] { fields.reset(); });  // freed on another thread: its lists take them
  other.join();
  ProxyFields again;
  again.set("Host", "example.test");
  EXPECT_EQ(again["Host"], "example.test");
}

}  // namespace
}  // namespace slipway::proxy
