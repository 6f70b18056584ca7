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
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/string_body.hpp>

#include "alerts/webhook_url.h"
#include "common/duration.h"
#include "common/http_head_exchange.h"

namespace slipway::alerts {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

PostResult Failure(const error_code& ec, const char* step, std::chrono::milliseconds timeout) {
  // The resolver is cancelled by a timer at the deadline: that is a timeout too.
  const error_code shown =
      ec == asio::error::operation_aborted ? error_code(beast::error::timeout) : ec;
  return {PostResult::Outcome::kRetry, DescribeStepFailure(shown, step, timeout)};
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
  const HeadAnswer answer = co_await ExchangeHead(&stream, std::move(request), "send");
  if (answer.ec) co_return Failure(answer.ec, answer.step, timeout);
  co_return FromStatus(answer.status);
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
