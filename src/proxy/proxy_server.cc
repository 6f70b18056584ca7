// ProxyServer: the io_context, its threads, and one acceptor per app.
//
// Threading: one io_context run by N threads. Each listener's accept loop runs on its own
// strand; each client connection runs as one coroutine on its own strand. Upstream idle
// connections are pooled per I/O thread (UpstreamPool), so the request path takes no lock.
// The listener table is guarded by a mutex used by the control methods only.
#include "proxy/proxy_server.h"

#include <algorithm>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/log.h"
#include "proxy/access_log.h"
#include "proxy/client_session.h"
#include "proxy/listen_address.h"
#include "proxy/listener_state.h"
#include "proxy/upstream_pool.h"

namespace slipway::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kAcceptErrorBackoff{100};

struct Listener {
  std::string listen;  // as asked
  std::string bound;   // "host:port" with the real port
  std::shared_ptr<ListenerState> state;
  std::shared_ptr<tcp::acceptor> acceptor;  // used on `strand` only once accepting
  asio::strand<asio::io_context::executor_type> strand;
};

asio::awaitable<void> AcceptLoop(std::shared_ptr<tcp::acceptor> acceptor,
                                 std::shared_ptr<ListenerState> state, asio::io_context& io) {
  for (;;) {
    asio::any_io_executor connection_strand = asio::make_strand(io);
    auto [ec, socket] = co_await acceptor->async_accept(connection_strand, kUseTuple);
    if (!acceptor->is_open() || ec == asio::error::operation_aborted) co_return;
    if (ec) {  // out of descriptors, or the like: back off instead of spinning
      log::Warn("proxy accept failed", {{"app", state->app}, {"error", ec.message()}});
      asio::steady_timer backoff(co_await asio::this_coro::executor, kAcceptErrorBackoff);
      co_await backoff.async_wait(kUseTuple);
      continue;
    }
    ClientSession::Start(state, std::move(socket));
  }
}

}  // namespace

struct ProxyServer::Impl {
  // Declared first: destroyed last, after every connection (its destructor writes what is
  // queued and joins its thread). Null when the server has no access log.
  std::unique_ptr<AccessLog> access_log;
  // Destroyed after the threads are joined and the pools are gone.
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::unique_ptr<UpstreamPool>> pools;
  std::vector<std::thread> threads;

  mutable std::mutex mu;  // guards `listeners`; control path only
  std::map<std::string, Listener> listeners;

  // Closes the acceptor on its strand and waits, so the port is free when this returns.
  void CloseAcceptor(Listener& listener) {
    auto close = [acceptor = listener.acceptor] {
      error_code ignored;
      acceptor->close(ignored);
    };
    if (io.get_executor().running_in_this_thread()) {
      asio::post(listener.strand, close);  // cannot wait on our own thread
      return;
    }
    std::promise<void> closed;
    asio::post(listener.strand, [&] {
      close();
      closed.set_value();
    });
    closed.get_future().wait();
  }

  std::shared_ptr<const ResponsePolicy> PolicyFor(const ListenerOptions& options) const {
    auto policy = std::make_shared<ResponsePolicy>();
    policy->security_headers = options.security_headers;
    policy->hide_headers = options.hide_headers;
    policy->access_log = options.access_log ? access_log.get() : nullptr;
    return policy;
  }

  void Stop(Listener& listener) {
    CloseAcceptor(listener);
    listener.state->ShutdownConnections();
  }

  Result<Listener> Bind(const ListenerOptions& options, const ListenAddress& address) {
    Listener listener{options.listen, "", nullptr, std::make_shared<tcp::acceptor>(io),
                      asio::make_strand(io)};
    error_code ec;
    tcp::endpoint endpoint(asio::ip::make_address(address.host, ec), address.port);
    tcp::acceptor& acceptor = *listener.acceptor;
    if (!ec) acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error{"listen " + options.listen + ": " + ec.message()};
    listener.bound = FormatHostPort(address.host, acceptor.local_endpoint().port());
    listener.state = std::make_shared<ListenerState>(options.app, options.pool, io.get_executor(),
                                                     PolicyFor(options));
    return listener;
  }

  void StartAccepting(const Listener& listener) {
    asio::co_spawn(listener.strand, AcceptLoop(listener.acceptor, listener.state, io),
                   asio::detached);
    log::Info("proxy listening", {{"app", listener.state->app}, {"address", listener.bound}});
  }
};

ProxyServer::ProxyServer(int threads, std::string access_log_path,
                         std::uint64_t access_log_max_bytes)
    : ProxyServer(threads) {
  impl_->access_log = std::make_unique<AccessLog>(std::move(access_log_path), access_log_max_bytes);
}

ProxyServer::ProxyServer(int threads) : impl_(std::make_unique<Impl>()) {
  int n = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  n = std::max(n, 1);
  impl_->work.emplace(impl_->io.get_executor());
  for (int i = 0; i < n; ++i) impl_->pools.push_back(std::make_unique<UpstreamPool>());
  for (int i = 0; i < n; ++i) {
    impl_->threads.emplace_back([io = &impl_->io, pool = impl_->pools[i].get()] {
      UpstreamPool::SetCurrent(pool);
      for (;;) {
        try {
          io->run();
          break;
        } catch (const std::exception& e) {
          log::Error("proxy I/O thread caught an exception", {{"error", e.what()}});
        }
      }
      UpstreamPool::SetCurrent(nullptr);
    });
  }
}

ProxyServer::~ProxyServer() {
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [app, listener] : impl_->listeners) impl_->Stop(listener);
    impl_->listeners.clear();
  }
  impl_->work.reset();
  impl_->io.stop();  // connections still open are destroyed with the io_context
  for (std::thread& t : impl_->threads) t.join();
  impl_->pools.clear();
}

Status ProxyServer::AddListener(const ListenerOptions& options) {
  if (!options.pool) return Error{"listen " + options.listen + ": no backend pool"};
  Result<ListenAddress> address = ParseListenAddress(options.listen);
  if (!address) return address.error();

  std::lock_guard lock(impl_->mu);
  auto existing = impl_->listeners.find(options.app);
  if (existing != impl_->listeners.end() && existing->second.listen == options.listen &&
      existing->second.state->pool == options.pool) {
    existing->second.state->SetPolicy(impl_->PolicyFor(options));  // takes effect per request
    return Ok();
  }
  Result<Listener> bound = impl_->Bind(options, *address);
  if (!bound && existing != impl_->listeners.end()) {
    // The new address may overlap the old one (same port): free it and try once more.
    impl_->Stop(existing->second);
    impl_->listeners.erase(existing);
    existing = impl_->listeners.end();
    bound = impl_->Bind(options, *address);
  }
  if (!bound) return bound.error();
  if (existing != impl_->listeners.end()) {
    impl_->Stop(existing->second);
    impl_->listeners.erase(existing);
  }
  impl_->StartAccepting(*bound);
  impl_->listeners.emplace(options.app, std::move(bound).value());
  return Ok();
}

void ProxyServer::RemoveListener(const std::string& app) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->listeners.find(app);
  if (it == impl_->listeners.end()) return;
  impl_->Stop(it->second);
  log::Info("proxy listener removed", {{"app", app}, {"address", it->second.bound}});
  impl_->listeners.erase(it);
}

void ProxyServer::FlushAccessLog() {
  if (impl_->access_log) impl_->access_log->Flush();
}

std::string ProxyServer::BoundAddress(const std::string& app) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->listeners.find(app);
  return it == impl_->listeners.end() ? "" : it->second.bound;
}

}  // namespace slipway::proxy
