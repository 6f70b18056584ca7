#include "webhook_receiver.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace slipway::alerts::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

struct WebhookReceiver::State {
  explicit State(asio::io_context& io)
      : acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {}
  tcp::acceptor acceptor;
  unsigned status = 200;
  bool silent = false;
  bool closed = false;
  std::vector<Request> requests;
};

namespace {

asio::awaitable<void> Serve(std::shared_ptr<WebhookReceiver::State> state, tcp::socket socket) {
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  auto [ec, n] = co_await http::async_read(socket, buffer, request, kUseTuple);
  if (ec) co_return;
  state->requests.push_back({std::string(request.method_string()), std::string(request.target()),
                             std::string(request[http::field::host]),
                             std::string(request[http::field::content_type]), request.body()});
  if (state->silent) {
    asio::steady_timer wait(socket.get_executor(), std::chrono::seconds(30));
    co_await wait.async_wait(kUseTuple);
    co_return;
  }
  http::response<http::string_body> response(static_cast<http::status>(state->status), 11);
  if (state->status != 204 && state->status != 304) response.body() = "ok";
  response.prepare_payload();
  co_await http::async_write(socket, response, kUseTuple);
}

asio::awaitable<void> Accept(std::shared_ptr<WebhookReceiver::State> state) {
  while (!state->closed) {
    auto [ec, socket] = co_await state->acceptor.async_accept(kUseTuple);
    if (ec) co_return;
    asio::co_spawn(state->acceptor.get_executor(), Serve(state, std::move(socket)), asio::detached);
  }
}

}  // namespace

WebhookReceiver::WebhookReceiver(asio::io_context& io) : state_(std::make_shared<State>(io)) {
  asio::co_spawn(io, Accept(state_), asio::detached);
}

WebhookReceiver::~WebhookReceiver() {
  state_->closed = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
}

std::uint16_t WebhookReceiver::port() const { return state_->acceptor.local_endpoint().port(); }
void WebhookReceiver::set_status(unsigned status) { state_->status = status; }
void WebhookReceiver::set_silent(bool silent) { state_->silent = silent; }
const std::vector<WebhookReceiver::Request>& WebhookReceiver::requests() const {
  return state_->requests;
}

}  // namespace slipway::alerts::testing
