// ProbeOnce: one HTTP or TCP probe of 127.0.0.1:port, bounded as a whole by probe.timeout, or
// one exec probe through the replica's ExecRunner.
#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
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

ProbeResult ExecProbeResult(const ExecOutcome& outcome, spec::Millis timeout) {
  if (!outcome.error.empty()) return {false, outcome.error};
  if (outcome.timed_out) return {false, "timeout after " + FormatDuration(timeout) + " (killed)"};
  std::string detail;
  if (outcome.exit_code) {
    detail = "exit " + std::to_string(*outcome.exit_code);
  } else if (outcome.signal) {
    detail = "killed by signal " + std::to_string(*outcome.signal);
  } else {
    detail = "ended without an exit status";
  }
  // The first non-blank line of output, cut short.
  std::string_view rest = outcome.output;
  while (!rest.empty()) {
    std::size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (!line.empty()) {
      if (line.size() > 200) line = line.substr(0, 200);
      detail += ": ";
      detail += line;
      break;
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return {outcome.exit_code == 0, detail};
}

void ProbeOnce(asio::io_context& io, const spec::Probe& probe, std::uint16_t port, ExecRunner* exec,
               std::function<void(ProbeResult)> done) {
  if (probe.type == spec::ProbeType::kExec) {
    if (exec == nullptr) {
      asio::post(io, [done = std::move(done)] {
        done(ProbeResult{false, "exec probes are not supported here"});
      });
      return;
    }
    exec->RunExec(probe.command, probe.timeout,
                  [done = std::move(done), timeout = probe.timeout](ExecOutcome outcome) {
                    done(ExecProbeResult(outcome, timeout));
                  });
    return;
  }
  asio::co_spawn(asio::make_strand(io), RunProbe(probe, port),
                 [done = std::move(done)](std::exception_ptr error, ProbeResult result) {
                   if (error) result = ProbeResult{false, "probe failed unexpectedly"};
                   done(std::move(result));
                 });
}

}  // namespace slipway::health
