// HttpWebhookPoster: resolve, connect, send and read the answer's head, all within one timeout.
#include "alerts/webhook_poster.h"

#include <exception>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "alerts/webhook_url.h"
#include "common/duration.h"

namespace slipway::alerts {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

PostResult Failure(const error_code& ec, const char* step, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
    return {PostResult::Outcome::kRetry, "timeout after " + FormatDuration(timeout)};
  }
  return {PostResult::Outcome::kRetry, std::string(step) + ": " + ec.message()};
}

PostResult FromStatus(unsigned status) {
  const std::string detail = "HTTP " + std::to_string(status);
  if (status >= 200 && status < 300) return {PostResult::Outcome::kDelivered, detail};
  if (status == 408 || status == 429 || status >= 500) return {PostResult::Outcome::kRetry, detail};
  return {PostResult::Outcome::kRejected, detail};
}

asio::awaitable<PostResult> RunPost(WebhookUrl url, std::string body,
                                    std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // The resolver has no deadline of its own: a timer cancels it. Shared, since the timer's
  // handler may run after this coroutine ended.
  auto resolver = std::make_shared<tcp::resolver>(executor);
  asio::steady_timer resolve_timer(executor);
  resolve_timer.expires_at(deadline);
  resolve_timer.async_wait([resolver](error_code ec) {
    if (!ec) resolver->cancel();
  });
  const std::string port = std::to_string(url.port);
  auto [resolve_ec, endpoints] = co_await resolver->async_resolve(url.host, port, kUseTuple);
  resolve_timer.cancel();
  if (resolve_ec) co_return Failure(resolve_ec, "resolve", timeout);

  beast::tcp_stream stream(executor);
  stream.expires_at(deadline);
  auto [connect_ec, connected] = co_await stream.async_connect(endpoints, kUseTuple);
  if (connect_ec) co_return Failure(connect_ec, "connect", timeout);

  http::request<http::string_body> request(http::verb::post, url.target, 11);
  request.set(http::field::host, url.host_header);
  request.set(http::field::user_agent, std::string("slipway/") + SLIPWAY_VERSION);
  request.set(http::field::content_type, "application/json");
  request.set(http::field::connection, "close");
  request.body() = std::move(body);
  request.prepare_payload();
  auto [write_ec, written] = co_await http::async_write(stream, request, kUseTuple);
  if (write_ec) co_return Failure(write_ec, "send", timeout);

  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  auto [read_ec, read] = co_await http::async_read_header(stream, buffer, parser, kUseTuple);
  if (read_ec) co_return Failure(read_ec, "read", timeout);
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return FromStatus(parser.get().result_int());
}

}  // namespace

void HttpWebhookPoster::Post(const std::string& url, std::string body,
                             std::chrono::milliseconds timeout,
                             std::function<void(PostResult)> done) {
  auto parsed = ParseWebhookUrl(url);
  if (!parsed) {
    PostResult result{PostResult::Outcome::kRejected, "bad URL: " + parsed.error().message};
    asio::post(io_, [done = std::move(done), result] { done(result); });
    return;
  }
  asio::co_spawn(io_, RunPost(std::move(*parsed), std::move(body), timeout),
                 [done = std::move(done)](std::exception_ptr error, PostResult result) {
                   if (error) result = PostResult{PostResult::Outcome::kRetry, "post failed"};
                   done(std::move(result));
                 });
}

}  // namespace slipway::alerts
