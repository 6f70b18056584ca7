#include "proxy/client_stream.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace slipway::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Below this, gathered pieces are copied into one buffer for TLS: one record, one syscall.
constexpr std::size_t kFlattenLimit = 16 * 1024;
}  // namespace

ClientStream::ClientStream(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
ClientStream::~ClientStream() = default;

void ClientStream::UseTls(std::shared_ptr<asio::ssl::context> context) {
  context_ = std::move(context);
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *context_);
}

asio::awaitable<error_code> ClientStream::Handshake() {
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kUseTuple);
  co_return ec;
}

asio::awaitable<IoResult> ClientStream::ReadSome(asio::mutable_buffer buffer) {
  if (tls_) {
    auto [ec, n] = co_await tls_->async_read_some(buffer, kUseTuple);
    // A client that closes without close_notify: every request is length- or chunk-delimited,
    // so for the proxy this is an ordinary end of input.
    if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
    co_return IoResult{ec, n};
  }
  auto [ec, n] = co_await socket_.async_read_some(buffer, kUseTuple);
  co_return IoResult{ec, n};
}

asio::awaitable<IoResult> ClientStream::Write(WriteBuffers buffers) {
  if (!tls_) {
    auto [ec, n] = co_await asio::async_write(socket_, buffers, kUseTuple);
    co_return IoResult{ec, n};
  }
  // The TLS stream writes one buffer per record: join small pieces first.
  std::size_t total = 0, pieces = 0;
  for (const auto& b : buffers) {
    total += b.size();
    pieces += b.size() > 0 ? 1 : 0;
  }
  if (pieces > 1 && total <= kFlattenLimit) {
    flat_.clear();
    for (const auto& b : buffers) flat_.append(static_cast<const char*>(b.data()), b.size());
    auto [ec, n] = co_await asio::async_write(*tls_, asio::buffer(flat_), kUseTuple);
    co_return IoResult{ec, n};
  }
  auto [ec, n] = co_await asio::async_write(*tls_, buffers, kUseTuple);
  co_return IoResult{ec, n};
}

void ClientStream::ShutdownSend() {
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void ClientStream::Close() {
  error_code ignored;
  socket_.close(ignored);
}

}  // namespace slipway::proxy
