// The response side of the request path: the upstream's body relayed to the client as it
// arrives, through the upstream connection's own buffer (one copy: socket to buffer to socket),
// re-framed when the client needs it (chunked for HTTP/1.1, close-delimited for HTTP/1.0) and
// gzip-compressed when negotiated. The head goes out with the first piece: one write for a
// small answer.
#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>

#include "common/log.h"
#include "proxy/body_decoder.h"
#include "proxy/client_session.h"
#include "proxy/gzip_encoder.h"
#include "proxy/wire_format.h"

namespace slipway::proxy {

constexpr log::Logger kLog{"proxy"};

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

asio::awaitable<ClientSession::Next> ClientSession::RelayResponse() {
  UpstreamConnection& upstream = *upstream_connection_;
  if (status_ == 101) {
    lease_.Reset();  // an open WebSocket does not hold its replica's drain
    co_return co_await Tunnel();
  }

  bool completed = true;
  bool cut_short = false;  // the upstream broke off: an error of its release, whatever its status
  if (response_sink_ == Framing::kNone) {
    if (error_code ec = co_await WriteClientPiece({}, true)) completed = false;
  } else {
    for (;;) {
      Piece piece = co_await NextResponsePiece();
      if (piece.error) {
        // The upstream broke off mid-body. The client sees a short body or a missing last
        // chunk, never a complete-looking wrong answer.
        kLog.Warn("upstream response cut short", {{"app", listener_->app},
                                                  {"backend", upstream_ ? upstream_->id : ""},
                                                  {"request_id", request_id_},
                                                  {"error", piece.error.message()}});
        upstream_reusable_ = false;
        client_keep_alive_ = false;
        completed = false;
        cut_short = true;
        if (!head_out_.empty()) {  // nothing sent yet: the client can still get a 502
          if (upstream_) RecordInWindow(*upstream_, 502);
          error_code ignored;
          upstream.socket.close(ignored);
          upstream_connection_.reset();
          lease_.Reset();
          SetUpstreamError(502, "upstream response cut short");
          co_return co_await WriteLocalResponse();
        }
        break;
      }
      if (error_code ec = co_await WriteClientPiece(piece.data, piece.last)) {
        upstream_reusable_ = false;
        client_keep_alive_ = false;
        completed = false;
        break;
      }
      ConsumeResponsePiece(piece.data.size());
      if (piece.last) break;
    }
  }

  // The upstream connection goes back to this thread's pool when its answer was read whole.
  const bool reusable = completed && upstream_reusable_ && upstream.buffer.size() == 0 &&
                        upstream_ && !upstream_->draining.load();
  UpstreamPool* pool = UpstreamPool::Current();
  if (reusable && pool) {
    pool->Give(upstream_, std::move(upstream_connection_));
  } else {
    error_code ignored;
    upstream.socket.close(ignored);
    upstream_connection_.reset();
  }
  lease_.Reset();  // the answer is relayed: the replica may drain
  // A client that left mid-body still got the backend's answer: its status counts.
  if (upstream_) RecordInWindow(*upstream_, cut_short ? 502 : status_);
  LogAccess(completed);
  if (!completed) co_return Next::kClose;
  if (client_keep_alive_) co_return Next::kContinue;
  if (linger_) {
    co_await LingeringClose();  // the client may still be sending a body nobody reads
  } else {
    stream_.ShutdownSend();
  }
  co_return Next::kClose;
}

asio::awaitable<ClientSession::Piece> ClientSession::NextResponsePiece() {
  UpstreamConnection& upstream = *upstream_connection_;
  Piece piece;
  switch (response_source_) {
    case Framing::kLength: {
      if (response_body_left_ == 0) {
        piece.last = true;
        co_return piece;
      }
      if (upstream.buffer.size() == 0) {
        const std::size_t want = static_cast<std::size_t>(
            std::min<std::uint64_t>(response_body_left_, ProxyLimits::kRelayChunk));
        Guard(policy_->timeouts.upstream_response, upstream.socket);
        auto [ec, n] =
            co_await upstream.socket.async_read_some(upstream.buffer.prepare(want), kUseTuple);
        watchdog_.Disarm();
        upstream.buffer.commit(n);
        if (ec) {
          piece.error = ec == asio::error::eof ? make_error_code(http::error::partial_message) : ec;
          co_return piece;
        }
      }
      const std::size_t n = static_cast<std::size_t>(
          std::min<std::uint64_t>(upstream.buffer.size(), response_body_left_));
      piece.data = {static_cast<const char*>(upstream.buffer.cdata().data()), n};
      piece.last = n == response_body_left_;
      co_return piece;
    }
    case Framing::kUntilClose: {
      if (upstream.buffer.size() == 0) {
        Guard(policy_->timeouts.upstream_response, upstream.socket);
        auto [ec, n] = co_await upstream.socket.async_read_some(
            upstream.buffer.prepare(ProxyLimits::kRelayChunk), kUseTuple);
        watchdog_.Disarm();
        upstream.buffer.commit(n);
        if (ec == asio::error::eof) {
          piece.last = true;
          co_return piece;
        }
        if (ec) {
          piece.error = ec;
          co_return piece;
        }
      }
      piece.data = {static_cast<const char*>(upstream.buffer.cdata().data()),
                    upstream.buffer.size()};
      co_return piece;
    }
    case Framing::kChunked: {
      chunk_buffer_.resize(ProxyLimits::kRelayChunk);
      for (;;) {
        DecodeStep step = DecodeBody(*response_parser_, upstream.buffer, chunk_buffer_.data(),
                                     chunk_buffer_.size());
        if (step.error) {
          piece.error = step.error;
          co_return piece;
        }
        if (!step.need_input || step.produced > 0) {
          piece.data = {chunk_buffer_.data(), step.produced};
          piece.last = response_parser_->is_done();
          co_return piece;
        }
        Guard(policy_->timeouts.upstream_response, upstream.socket);
        auto [read_ec, n] = co_await upstream.socket.async_read_some(
            upstream.buffer.prepare(ProxyLimits::kRelayChunk), kUseTuple);
        watchdog_.Disarm();
        upstream.buffer.commit(n);
        if (read_ec) {
          piece.error = read_ec;
          co_return piece;
        }
      }
    }
    case Framing::kNone:
      break;
  }
  piece.last = true;
  co_return piece;
}

void ClientSession::ConsumeResponsePiece(std::size_t n) {
  if (response_source_ == Framing::kLength) {
    upstream_connection_->buffer.consume(n);
    response_body_left_ -= n;
  } else if (response_source_ == Framing::kUntilClose) {
    upstream_connection_->buffer.consume(n);
  }
}

asio::awaitable<error_code> ClientSession::WriteClientPiece(std::string_view data, bool last) {
  if (compress_) {
    gzip_out_.clear();
    gzip_->Append(data, gzip_out_);
    // Every piece the client is sent is decodable on its own: a streamed answer (server-sent
    // events, a slow report) must not sit in zlib. Pieces are up to kRelayChunk: under 1% cost.
    if (last) {
      gzip_->Finish(gzip_out_);
    } else {
      gzip_->Flush(gzip_out_);
    }
    data = gzip_out_;
  }
  WriteBuffers buffers{asio::buffer(head_out_)};
  char size_line[20];
  if (response_sink_ == Framing::kChunked) {
    if (!data.empty()) {
      buffers[1] = asio::buffer(size_line, FormatChunkSize(data.size(), size_line));
      buffers[2] = asio::buffer(data);
      buffers[3] = asio::buffer(kChunkEnd);
    }
    if (last) buffers[4] = asio::buffer(kLastChunk);
  } else if (response_sink_ != Framing::kNone) {
    buffers[1] = asio::buffer(data);
  }
  if (asio::buffer_size(buffers) == 0) co_return error_code{};
  Guard(policy_->timeouts.idle, stream_.tcp());
  auto [ec, n] = co_await stream_.Write(buffers);
  watchdog_.Disarm();
  if (!ec) {
    head_out_.clear();
    bytes_sent_ += data.size();
  }
  co_return ec;
}

}  // namespace slipway::proxy
