// The header container the proxy's request path uses: Beast's basic_fields with an allocator
// that recycles blocks per thread. Beast allocates one block per header field; a proxied request
// sets and parses about twenty, so the plain allocator made some twenty malloc/free pairs per
// request. FieldAllocator keeps freed blocks in per-thread free lists by size class and hands
// them out again: a proxy thread in steady state allocates nothing for headers.
// Internal to the proxy module.
#pragma once

#include <cstddef>
#include <new>

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>

namespace slipway::proxy {

// Per-thread free lists of blocks of 64, 128, 256, 512 and 1024 bytes. Larger blocks (a rare
// huge header) go straight to operator new. Each list keeps at most kMaxCachedPerClass blocks,
// so a burst of huge heads cannot pin memory; a block freed on another thread joins that
// thread's list (every block of a class has the class's size, whoever made it).
class FieldBlocks {
 public:
  static constexpr std::size_t kMaxCachedPerClass = 512;
  static void* Allocate(std::size_t bytes);
  static void Free(void* block, std::size_t bytes) noexcept;
};

template <class T>
class FieldAllocator {
 public:
  using value_type = T;
  FieldAllocator() noexcept = default;
  template <class U>
  FieldAllocator(const FieldAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  T* allocate(std::size_t n) { return static_cast<T*>(FieldBlocks::Allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { FieldBlocks::Free(p, n * sizeof(T)); }
  friend bool operator==(const FieldAllocator&, const FieldAllocator&) noexcept { return true; }
  friend bool operator!=(const FieldAllocator&, const FieldAllocator&) noexcept { return false; }
};

using ProxyFields = boost::beast::http::basic_fields<FieldAllocator<char>>;
using ProxyRequestHead = boost::beast::http::request_header<ProxyFields>;
using ProxyResponseHead = boost::beast::http::response_header<ProxyFields>;
using ProxyRequestParser =
    boost::beast::http::request_parser<boost::beast::http::buffer_body, FieldAllocator<char>>;
using ProxyResponseParser =
    boost::beast::http::response_parser<boost::beast::http::buffer_body, FieldAllocator<char>>;

}  // namespace slipway::proxy
