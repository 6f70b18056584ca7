#include "test_http_server.h"

#include <sstream>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace slipway::health::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

struct TestHttpServer::State {
  explicit State(asio::io_context& io) : acceptor(io, {asio::ip::address_v4::loopback(), 0}) {}
  tcp::acceptor acceptor;
  Mode mode = Mode::kOk;
  int requests = 0;
  int accepted = 0;
  int closed_by_peer = 0;
  std::string last_request;
};

static asio::awaitable<void> Serve(std::shared_ptr<TestHttpServer::State> s, tcp::socket socket);

TestHttpServer::TestHttpServer(asio::io_context& io) : state_(std::make_shared<State>(io)) {
  asio::co_spawn(
      io,
      [s = state_]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, socket] = co_await s->acceptor.async_accept(kUseTuple);
          if (ec) co_return;
          ++s->accepted;
          asio::co_spawn(s->acceptor.get_executor(), Serve(s, std::move(socket)), asio::detached);
        }
      },
      asio::detached);
}

TestHttpServer::~TestHttpServer() {
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
}

static asio::awaitable<void> Serve(std::shared_ptr<TestHttpServer::State> s, tcp::socket socket) {
  if (s->mode == TestHttpServer::Mode::kSilent) {
    ++s->requests;
    char byte[512];
    for (;;) {  // never answer; notice when the client gives up
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(byte), kUseTuple);
      if (ec) break;
    }
    ++s->closed_by_peer;
    co_return;
  }
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  auto [ec, n] = co_await http::async_read(socket, buffer, request, kUseTuple);
  if (ec) co_return;
  ++s->requests;
  std::ostringstream head;
  head << request.base();
  s->last_request = head.str();
  bool ok = s->mode == TestHttpServer::Mode::kOk;
  http::response<http::string_body> response{
      ok ? http::status::ok : http::status::service_unavailable, 11};
  response.body() = ok ? "up" : "down";
  response.prepare_payload();
  co_await http::async_write(socket, response, kUseTuple);
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

std::uint16_t TestHttpServer::port() const { return state_->acceptor.local_endpoint().port(); }
void TestHttpServer::set_mode(Mode mode) { state_->mode = mode; }
int TestHttpServer::requests() const { return state_->requests; }
int TestHttpServer::accepted() const { return state_->accepted; }
int TestHttpServer::closed_by_peer() const { return state_->closed_by_peer; }
std::string TestHttpServer::last_request() const { return state_->last_request; }

std::uint16_t ClosedPort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  return acceptor.local_endpoint().port();
}

}  // namespace slipway::health::testing
