// After a 101 Switching Protocols (WebSocket), the connection is no longer HTTP: bytes are
// copied both ways until either side closes, or nothing moves for the idle timeout. The
// request's total timeout does not apply: a WebSocket lives as long as its users.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/client_session.h"

namespace slipway::proxy {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kTunnelChunk = 16 * 1024;

}  // namespace

asio::awaitable<ClientSession::Next> ClientSession::Tunnel() {
  UpstreamConnection& upstream = *upstream_connection_;
  // The exchange that matters for the log and the release window is the switch itself.
  if (upstream_) RecordInWindow(*upstream_, status_);
  LogAccess(true);

  // The 101 head, with any bytes the upstream already sent after it.
  {
    const auto early = upstream.buffer.cdata();
    const WriteBuffers head_and_early{asio::buffer(head_out_), early};
    auto [ec, n] = co_await stream_.Write(head_and_early);
    if (ec) co_return Next::kClose;
    upstream.buffer.consume(upstream.buffer.size());
  }
  if (buffer_.size() > 0) {  // the client spoke before the switch was confirmed
    auto [ec, n] = co_await asio::async_write(upstream.socket, buffer_.cdata(), kUseTuple);
    if (ec) co_return Next::kClose;
    buffer_.consume(buffer_.size());
  }

  std::uint64_t moved = 0;  // bumped by both directions; the idle check watches it
  auto client_to_upstream = [&]() -> asio::awaitable<void> {
    std::vector<char> chunk(kTunnelChunk);
    for (;;) {
      auto [ec, n] = co_await stream_.ReadSome(asio::buffer(chunk));
      if (ec) break;
      ++moved;
      auto [write_ec, w] =
          co_await asio::async_write(upstream.socket, asio::buffer(chunk.data(), n), kUseTuple);
      if (write_ec) break;
    }
  };
  auto upstream_to_client = [&]() -> asio::awaitable<void> {
    std::vector<char> chunk(kTunnelChunk);
    for (;;) {
      auto [ec, n] = co_await upstream.socket.async_read_some(asio::buffer(chunk), kUseTuple);
      if (ec) break;
      ++moved;
      auto [write_ec, w] = co_await stream_.Write(asio::buffer(chunk.data(), n));
      if (write_ec) break;
    }
  };
  auto idle_check = [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    std::uint64_t seen = moved;
    for (;;) {
      timer.expires_after(policy_->timeouts.idle);
      auto [ec] = co_await timer.async_wait(kUseTuple);
      if (ec || closing_ || moved == seen) break;  // idle, or the listener is going away
      seen = moved;
    }
  };
  tunneling_ = true;
  // The first to finish (a side closed, an error, idle) cancels the others.
  co_await (client_to_upstream() || upstream_to_client() || idle_check());
  tunneling_ = false;
  error_code ignored;
  upstream.socket.close(ignored);
  upstream_connection_.reset();
  co_return Next::kClose;
}

}  // namespace slipway::proxy
