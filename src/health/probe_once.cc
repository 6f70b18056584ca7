// ProbeOnce: one HTTP or TCP probe of 127.0.0.1:port, bounded as a whole by probe.timeout.
#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>

#include "common/duration.h"
#include "common/http_head_exchange.h"
#include "health/probe_loop.h"

namespace slipway::health {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// "connect: Connection refused", or "timeout after 1s" when the probe's budget ran out.
ProbeResult Failure(const error_code& ec, const char* step, spec::Millis timeout) {
  return {false, DescribeStepFailure(ec, step, timeout)};
}

asio::awaitable<ProbeResult> RunProbe(spec::Probe probe, std::uint16_t port) {
  // One deadline for connect + write + read: tcp_stream applies it to every operation.
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(probe.timeout);
  auto [connect_ec] = co_await stream.async_connect(
      tcp::endpoint(asio::ip::address_v4::loopback(), port), kUseTuple);
  if (connect_ec) co_return Failure(connect_ec, "connect", probe.timeout);
  if (probe.type == spec::ProbeType::kTcp) co_return ProbeResult{true, "TCP connect"};

  http::request<http::empty_body> request{http::verb::get, probe.path, 11};
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  request.set(http::field::user_agent, "slipway-probe");
  request.set(http::field::connection, "close");
  const HeadAnswer answer = co_await ExchangeHead(&stream, std::move(request), "write");
  if (answer.ec) co_return Failure(answer.ec, answer.step, probe.timeout);
  const unsigned status = answer.status;
  co_return ProbeResult{status >= 200 && status < 400, "HTTP " + std::to_string(status)};
}

}  // namespace

void ProbeOnce(asio::io_context& io, const spec::Probe& probe, std::uint16_t port,
               std::function<void(ProbeResult)> done) {
  asio::co_spawn(asio::make_strand(io), RunProbe(probe, port),
                 [done = std::move(done)](std::exception_ptr error, ProbeResult result) {
                   if (error) result = ProbeResult{false, "probe failed unexpectedly"};
                   done(std::move(result));
                 });
}

}  // namespace slipway::health
