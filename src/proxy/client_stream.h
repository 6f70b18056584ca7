// ClientStream: a client connection's byte stream, plain TCP or TLS over it, behind one small
// awaitable interface, so the request path is written once for both. Internal to the proxy.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace boost::asio::ssl {
class context;
template <typename Stream>
class stream;
}  // namespace boost::asio::ssl

namespace slipway::proxy {

using IoResult = std::pair<boost::system::error_code, std::size_t>;
// Up to five pieces written in one gather write (head, chunk framing, data, trailer).
using WriteBuffers = std::array<boost::asio::const_buffer, 5>;

class ClientStream {
 public:
  explicit ClientStream(boost::asio::ip::tcp::socket socket);
  ~ClientStream();
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  // Makes this a TLS stream over the socket with `context` (kept alive while the stream is).
  void UseTls(std::shared_ptr<boost::asio::ssl::context> context);
  bool tls() const { return tls_ != nullptr; }
  // TLS only: the server side of the handshake.
  boost::asio::awaitable<boost::system::error_code> Handshake();

  boost::asio::awaitable<IoResult> ReadSome(boost::asio::mutable_buffer buffer);
  // Writes every byte of `buffers` (empty ones are skipped).
  boost::asio::awaitable<IoResult> Write(WriteBuffers buffers);  // by value: coroutines start late
  boost::asio::awaitable<IoResult> Write(boost::asio::const_buffer buffer) {
    return Write(WriteBuffers{buffer});
  }
  // No more output: TCP half-close (TLS: without close_notify; every answer is length- or
  // chunk-delimited, so a truncation cannot pass for a whole answer).
  void ShutdownSend();
  void Close();

  // The TCP socket underneath: cancelled by the watchdog, asked for addresses.
  boost::asio::ip::tcp::socket& tcp() { return socket_; }

 private:
  boost::asio::ip::tcp::socket socket_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  std::string flat_;  // TLS: small gathered writes joined into one record
};

}  // namespace slipway::proxy
