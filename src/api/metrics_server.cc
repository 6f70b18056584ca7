#include "api/metrics_server.h"

#include <chrono>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "common/log.h"
#include "proxy/listen_address.h"

namespace slipway::api {

constexpr log::Logger kLog{"api"};

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Prometheus keeps a connection open between scrapes (15 s apart by default); one idle for
// longer than this is closed, and the next scrape opens another.
constexpr std::chrono::seconds kIdleTimeout{120};
// Scrapers are few; a flood of connections must not take the controller's time.
constexpr int kMaxConnections = 16;
constexpr std::uint32_t kHeaderLimit = 8 * 1024;

}  // namespace

struct MetricsServer::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  std::string listen;
  std::function<std::string()> render;
  tcp::acceptor acceptor;
  std::string bound;
  int connections = 0;

  Impl(asio::io_context& io_, std::string listen_, std::function<std::string()> render_)
      : io(io_), listen(std::move(listen_)), render(std::move(render_)), acceptor(io_) {}

  asio::awaitable<void> Accept() {
    auto self = shared_from_this();
    while (acceptor.is_open()) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;  // out of descriptors or the like: the next accept may work
      }
      if (connections >= kMaxConnections) {
        socket.close(ec);
        continue;
      }
      asio::co_spawn(io, Serve(std::move(socket)), asio::detached);
    }
  }

  http::response<http::string_body> Answer(const http::request<http::empty_body>& req) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "slipway");
    res.keep_alive(req.keep_alive());
    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.body() = "method not allowed: GET /metrics\n";
    } else if (path != "/metrics") {
      res.result(http::status::not_found);
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.body() = "not found: the metrics are at /metrics\n";
    } else {
      res.set(http::field::content_type, kMetricsContentType);
      res.body() = render();
    }
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();  // Content-Length stays
    return res;
  }

  asio::awaitable<void> Serve(tcp::socket socket) {
    auto self = shared_from_this();
    ++connections;
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::empty_body> parser;
      parser.header_limit(kHeaderLimit);
      stream.expires_after(kIdleTimeout);
      boost::system::error_code ec;
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;  // closed, timed out, or not HTTP (a body, a huge head): nothing to answer
      http::response<http::string_body> res = Answer(parser.get());
      stream.expires_after(kIdleTimeout);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    --connections;
  }
};

MetricsServer::MetricsServer(asio::io_context& io, std::string listen,
                             std::function<std::string()> render)
    : impl_(std::make_shared<Impl>(io, std::move(listen), std::move(render))) {}

MetricsServer::~MetricsServer() { Stop(); }

Status MetricsServer::Start() {
  auto address = proxy::ParseListenAddress(impl_->listen);
  // Its message is "listen <text>: <why>"; the operator typed --metrics-listen.
  if (!address) return Error{"--metrics-" + address.error().message};
  boost::system::error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(address->host, ec), address->port);
  tcp::acceptor& acceptor = impl_->acceptor;
  if (!ec) acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(64, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return Error{fmt::format("--metrics-listen {}: {}", impl_->listen, ec.message())};
  }
  const tcp::endpoint local = acceptor.local_endpoint(ec);
  impl_->bound = proxy::FormatHostPort(local.address().to_string(), local.port());
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  kLog.Info("metrics endpoint listening", {{"listen", impl_->bound}, {"path", "/metrics"}});
  return Ok();
}

void MetricsServer::Stop() {
  if (impl_->acceptor.is_open()) {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
  }
}

std::string MetricsServer::bound_address() const { return impl_->bound; }

}  // namespace slipway::api
