#include "test_backend.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace slipway::proxy::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

namespace {

template <bool isRequest>
Message ToMessage(const http::message<isRequest, http::string_body>& m) {
  Message out;
  std::ostringstream line;
  if constexpr (isRequest) {
    line << m.method_string() << " " << m.target() << " HTTP/" << m.version() / 10 << "."
         << m.version() % 10;
  } else {
    line << "HTTP/" << m.version() / 10 << "." << m.version() % 10 << " " << m.result_int();
    out.status = static_cast<int>(m.result_int());
  }
  out.start_line = line.str();
  for (const auto& field : m) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = m.body();
  return out;
}

}  // namespace

std::string Message::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return "";
}

bool Message::Has(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return true;
  }
  return false;
}

struct TestBackend::State {
  explicit State(std::string name)
      : name(std::move(name)),
        acceptor(io, {asio::ip::address_v4::loopback(), 0}),
        gate(io),
        work(io.get_executor()) {
    gate.expires_at(asio::steady_timer::time_point::max());
  }
  std::string name;
  asio::io_context io;
  tcp::acceptor acceptor;
  asio::steady_timer gate;  // held requests wait on it
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
  std::atomic<int> accepts{0};
  std::atomic<int> requests{0};
  std::atomic<bool> hold{false};
  std::atomic<bool> close_after_response{false};
  mutable std::mutex mu;
  Message last;
};

namespace {

asio::awaitable<void> Serve(TestBackend::State* s, tcp::socket socket) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 << 20);  // as an app taking uploads would
    auto [ec, n] = co_await http::async_read(socket, buffer, parser, kUseTuple);
    if (ec) co_return;
    http::request<http::string_body> request = parser.release();
    {
      std::lock_guard lock(s->mu);
      s->last = ToMessage(request);
    }
    ++s->requests;
    if (s->hold) co_await s->gate.async_wait(kUseTuple);
    http::response<http::string_body> response{http::status::ok, 11};
    response.set(http::field::content_type, "text/plain");
    response.set("X-Backend", s->name);
    response.set(http::field::connection, "keep-alive, X-Backend-Hop");
    response.set("X-Backend-Hop", "secret");
    response.set(http::field::keep_alive, "timeout=5");
    response.body() = s->name;
    response.prepare_payload();
    auto [wec, wn] = co_await http::async_write(socket, response, kUseTuple);
    if (wec || s->close_after_response) co_return;
  }
}

}  // namespace

TestBackend::TestBackend(std::string name) : state_(std::make_shared<State>(std::move(name))) {
  asio::co_spawn(
      state_->io,
      [s = state_.get()]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, socket] = co_await s->acceptor.async_accept(kUseTuple);
          if (ec) co_return;
          ++s->accepts;
          // State outlives every coroutine: they are destroyed with its io_context.
          asio::co_spawn(s->io, Serve(s, std::move(socket)), asio::detached);
        }
      },
      asio::detached);
  state_->thread = std::thread([s = state_.get()] { s->io.run(); });
}

TestBackend::~TestBackend() {
  asio::post(state_->io, [s = state_.get()] {
    boost::system::error_code ignored;
    s->acceptor.close(ignored);
    s->gate.cancel();
  });
  state_->work.reset();
  state_->io.stop();
  state_->thread.join();
}

std::uint16_t TestBackend::port() const { return state_->acceptor.local_endpoint().port(); }

std::shared_ptr<Backend> TestBackend::MakeBackend() const {
  auto b = std::make_shared<Backend>();
  b->id = state_->name;
  b->port = port();
  return b;
}

int TestBackend::accepts() const { return state_->accepts; }
int TestBackend::requests() const { return state_->requests; }
Message TestBackend::last_request() const {
  std::lock_guard lock(state_->mu);
  return state_->last;
}
void TestBackend::Hold() { state_->hold = true; }
void TestBackend::Release() {
  state_->hold = false;
  asio::post(state_->io, [s = state_.get()] { s->gate.cancel(); });
}
void TestBackend::set_close_after_response(bool close) { state_->close_after_response = close; }

struct TestClient::Impl {
  asio::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
};

TestClient::TestClient(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->socket.connect({asio::ip::address_v4::loopback(), port});
  timeval tv{10, 0};  // no test may hang on a read
  ::setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

TestClient::~TestClient() = default;

void TestClient::Send(const std::string& raw) { asio::write(impl_->socket, asio::buffer(raw)); }

Message TestClient::Read(bool head_response) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  if (head_response) parser.skip(true);
  http::read(impl_->socket, impl_->buffer, parser);
  return ToMessage(parser.get());
}

Message TestClient::RoundTrip(const std::string& raw) {
  Send(raw);
  return Read(raw.rfind("HEAD ", 0) == 0);
}

bool TestClient::ServerClosed() {
  if (impl_->buffer.size() > 0) return false;
  char byte;
  boost::system::error_code ec;
  impl_->socket.read_some(asio::buffer(&byte, 1), ec);
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

std::string TestClient::ReadUntil(const std::string& marker) {
  std::string got(static_cast<const char*>(impl_->buffer.cdata().data()), impl_->buffer.size());
  impl_->buffer.consume(impl_->buffer.size());
  char chunk[16384];
  while (got.find(marker) == std::string::npos) {
    boost::system::error_code ec;
    std::size_t n = impl_->socket.read_some(asio::buffer(chunk), ec);
    if (ec) break;
    got.append(chunk, n);
  }
  std::size_t end = got.find(marker);
  if (end == std::string::npos) return got;
  end += marker.size();
  impl_->buffer.commit(asio::buffer_copy(impl_->buffer.prepare(got.size() - end),
                                         asio::buffer(got.data() + end, got.size() - end)));
  return got.substr(0, end);
}

std::string TestClient::ReadToEof() {
  std::string got(static_cast<const char*>(impl_->buffer.cdata().data()), impl_->buffer.size());
  impl_->buffer.consume(impl_->buffer.size());
  char chunk[16384];
  for (;;) {
    boost::system::error_code ec;
    std::size_t n = impl_->socket.read_some(asio::buffer(chunk), ec);
    if (ec) break;
    got.append(chunk, n);
  }
  return got;
}

std::uint16_t ClosedPort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  return acceptor.local_endpoint().port();
}

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // poll interval, not a wait
  }
  return true;
}

}  // namespace slipway::proxy::testing
