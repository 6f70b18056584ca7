// ProxyServer: one event loop per core, and one acceptor per app.
//
// Threading: N workers, each an io_context run by exactly one thread, with its own pool of idle
// upstream connections. A connection lives on one worker from accept to close, so the request
// path takes no lock and needs no strand. Each listener's acceptor runs on worker 0 and hands
// every accepted socket to the worker with the fewest open connections (one relaxed atomic per
// worker, touched at accept and close only). One acceptor rather than SO_REUSEPORT: a second
// process cannot join our port and take half of its traffic. The listener table is guarded by
// a mutex used by the control methods only.
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
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/log.h"
#include "proxy/access_log.h"
#include "proxy/client_session.h"
#include "proxy/listen_address.h"
#include "proxy/listener_state.h"
#include "proxy/upstream_pool.h"
#include "proxy/worker_index.h"

namespace slipway::proxy {

constexpr log::Logger kLog{"proxy"};

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kAcceptErrorBackoff{100};

// Members in destruction order (last first): idle upstream sockets close while their io_context
// is alive; sessions still queued in it are destroyed with it, and count down `connections`.
struct Worker {
  std::atomic<std::uint32_t> connections{0};  // client connections open on this worker
  asio::io_context io{1};                     // one thread: Asio may skip its internal locking
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  UpstreamPool pool;
  std::thread thread;
};

struct Listener {
  std::string listen;  // as asked
  std::string bound;   // "host:port" with the real port
  std::shared_ptr<ListenerState> state;
  std::shared_ptr<tcp::acceptor> acceptor;  // on worker 0; used there only once accepting
  TlsOptions tls;                           // as asked
};

// The key of an app's plain-HTTP listener that redirects to its TLS one.
std::string RedirectKey(const std::string& app) { return app + "#http-redirect"; }

// Past max_connections: a short 503 written from the accepting side, then close.
asio::awaitable<void> RefuseConnection(tcp::socket socket) {
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Content-Length: 33\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
      "{\"error\":\"too many connections\"}\n";
  static_assert(kBusy.size() - kBusy.find("\r\n\r\n") - 4 == 33);
  co_await asio::async_write(socket, asio::buffer(kBusy), kUseTuple);
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

}  // namespace

struct ProxyServer::Impl {
  // Declared first: destroyed last, after every connection (its destructor writes what is
  // queued and joins its thread). Null when the server has no access log.
  std::unique_ptr<AccessLog> access_log;
  std::vector<std::unique_ptr<Worker>> workers;

  mutable std::mutex mu;  // guards `listeners`; control path only
  std::map<std::string, Listener> listeners;

  asio::io_context& accept_io() { return workers.front()->io; }

  Worker& LeastLoadedWorker() {
    Worker* best = workers.front().get();
    for (auto& w : workers) {
      if (w->connections.load(std::memory_order_relaxed) <
          best->connections.load(std::memory_order_relaxed)) {
        best = w.get();
      }
    }
    return *best;
  }

  asio::awaitable<void> AcceptLoop(std::shared_ptr<tcp::acceptor> acceptor,
                                   std::shared_ptr<ListenerState> state) {
    for (;;) {
      Worker& worker = LeastLoadedWorker();
      auto [ec, socket] = co_await acceptor->async_accept(worker.io, kUseTuple);
      if (!acceptor->is_open() || ec == asio::error::operation_aborted) co_return;
      if (ec) {  // out of descriptors, or the like: back off instead of spinning
        kLog.Warn("proxy accept failed", {{"app", state->app}, {"error", ec.message()}});
        asio::steady_timer backoff(co_await asio::this_coro::executor, kAcceptErrorBackoff);
        co_await backoff.async_wait(kUseTuple);
        continue;
      }
      if (state->open_connections.load(std::memory_order_relaxed) >=
          state->Policy()->limits.max_connections) {
        asio::co_spawn(worker.io, RefuseConnection(std::move(socket)), asio::detached);
        continue;
      }
      std::shared_ptr<TlsServerContext> tls = state->tls.load();
      ClientSession::Start(state, std::move(socket), &worker.connections,
                           tls ? tls->Current() : nullptr);
    }
  }

  // Closes the acceptor on its worker and waits, so the port is free when this returns.
  void CloseAcceptor(Listener& listener) {
    auto close = [acceptor = listener.acceptor] {
      error_code ignored;
      acceptor->close(ignored);
    };
    if (accept_io().get_executor().running_in_this_thread()) {
      close();
      return;
    }
    std::promise<void> closed;
    asio::post(accept_io(), [&] {
      close();
      closed.set_value();
    });
    closed.get_future().wait();
  }

  // Binds (or keeps) the listener at `key` and gives it `policy` and `tls`. An unchanged
  // address keeps its socket: a deploy never refuses a connection.
  Status Place(const std::string& key, const ListenerOptions& options,
               std::shared_ptr<const ListenerPolicy> policy,
               std::shared_ptr<TlsServerContext> tls) {
    Result<ListenAddress> address = ParseListenAddress(options.listen);
    if (!address) return address.error();
    auto existing = listeners.find(key);
    if (existing != listeners.end() && existing->second.listen == options.listen &&
        existing->second.state->pool == options.pool) {
      existing->second.state->SetPolicy(std::move(policy));  // takes effect per request
      existing->second.state->tls.store(std::move(tls));     // and per new connection
      existing->second.tls = options.tls;
      return Ok();
    }
    Result<Listener> bound = Bind(options, *address);
    if (!bound && existing != listeners.end()) {
      // The new address may overlap the old one (same port): free it and try once more.
      Stop(existing->second);
      listeners.erase(existing);
      existing = listeners.end();
      bound = Bind(options, *address);
    }
    if (!bound) return bound.error();
    if (existing != listeners.end()) {
      Stop(existing->second);
      listeners.erase(existing);
    }
    bound->state->SetPolicy(std::move(policy));
    bound->state->tls.store(std::move(tls));
    StartAccepting(*bound);
    listeners.insert_or_assign(key, std::move(bound).value());
    return Ok();
  }

  void Remove(const std::string& key) {
    auto it = listeners.find(key);
    if (it == listeners.end()) return;
    Stop(it->second);
    kLog.Info("proxy listener removed",
              {{"app", it->second.state->app}, {"address", it->second.bound}});
    listeners.erase(it);
  }

  std::shared_ptr<const ListenerPolicy> PolicyFor(const ListenerOptions& options) const {
    auto policy = std::make_shared<ListenerPolicy>();
    policy->security_headers = options.security_headers;
    policy->hide_headers = options.hide_headers;
    policy->access_log = options.access_log ? access_log.get() : nullptr;
    policy->timeouts = options.timeouts;
    policy->limits = options.limits;
    policy->gzip = options.gzip;
    policy->hsts = options.tls.hsts;
    policy->retry_canary_5xx = options.retry_canary_5xx;
    policy->local_counters = options.local_counters;
    policy->balancer = std::make_shared<Balancer>(options.balancing, options.outlier, options.app);
    return policy;
  }

  void Stop(Listener& listener) {
    CloseAcceptor(listener);
    listener.state->ShutdownConnections();
  }

  Result<Listener> Bind(const ListenerOptions& options, const ListenAddress& address) {
    Listener listener{options.listen, "", nullptr, std::make_shared<tcp::acceptor>(accept_io()),
                      options.tls};
    error_code ec;
    tcp::endpoint endpoint(asio::ip::make_address(address.host, ec), address.port);
    tcp::acceptor& acceptor = *listener.acceptor;
    if (!ec) acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error{"listen " + options.listen + ": " + ec.message()};
    listener.bound = FormatHostPort(address.host, acceptor.local_endpoint().port());
    listener.state = std::make_shared<ListenerState>(options.app, options.pool, PolicyFor(options),
                                                     static_cast<int>(workers.size()));
    return listener;
  }

  void StartAccepting(const Listener& listener) {
    asio::co_spawn(accept_io(), AcceptLoop(listener.acceptor, listener.state), asio::detached);
    kLog.Info("proxy listening", {{"app", listener.state->app}, {"address", listener.bound}});
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
  for (int i = 0; i < n; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->work.emplace(worker->io.get_executor());
    impl_->workers.push_back(std::move(worker));
  }
  for (int i = 0; i < n; ++i) {
    Worker* w = impl_->workers[static_cast<std::size_t>(i)].get();
    w->thread = std::thread([w, i] {
      SetCurrentWorkerIndex(i);
      UpstreamPool::SetCurrent(&w->pool);
      for (;;) {
        try {
          w->io.run();
          break;
        } catch (const std::exception& e) {
          kLog.Error("proxy I/O thread caught an exception", {{"error", e.what()}});
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
  for (auto& worker : impl_->workers) {
    worker->work.reset();
    worker->io.stop();  // connections still open are destroyed with the io_context
  }
  for (auto& worker : impl_->workers) worker->thread.join();
  impl_->workers.clear();
}

Status ProxyServer::AddListener(const ListenerOptions& options) {
  if (!options.pool) return Error{"listen " + options.listen + ": no backend pool"};
  std::lock_guard lock(impl_->mu);
  std::shared_ptr<TlsServerContext> tls;
  if (!options.tls.cert_file.empty()) {
    // The same files as now: keep the loaded context (a reload is its own command).
    auto existing = impl_->listeners.find(options.app);
    std::shared_ptr<TlsServerContext> current =
        existing != impl_->listeners.end() ? existing->second.state->tls.load() : nullptr;
    if (current && current->cert_file() == options.tls.cert_file &&
        current->key_file() == options.tls.key_file) {
      tls = std::move(current);
    } else {
      auto loaded = TlsServerContext::Load(options.tls.cert_file, options.tls.key_file);
      if (!loaded) return Error{"listen " + options.listen + ": " + loaded.error().message};
      tls = std::move(loaded).value();
    }
  }
  const bool redirect = tls && !options.tls.redirect_http_listen.empty();
  if (Status placed = impl_->Place(options.app, options, impl_->PolicyFor(options), tls); !placed) {
    return placed;
  }
  if (!redirect) {
    impl_->Remove(RedirectKey(options.app));
    return Ok();
  }
  // Plain HTTP on the redirect address: every request answered with 308 to the TLS listener.
  ListenerOptions plain = options;
  plain.listen = options.tls.redirect_http_listen;
  plain.tls = {};
  auto policy = std::make_shared<ListenerPolicy>(*impl_->PolicyFor(plain));
  policy->redirect_https = true;
  const std::string& bound = impl_->listeners.at(options.app).bound;
  policy->https_port = static_cast<std::uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
  return impl_->Place(RedirectKey(options.app), plain, std::move(policy), nullptr);
}

void ProxyServer::RemoveListener(const std::string& app) {
  std::lock_guard lock(impl_->mu);
  impl_->Remove(app);
  impl_->Remove(RedirectKey(app));
}

Status ProxyServer::ReloadCertificates() {
  std::lock_guard lock(impl_->mu);
  std::string errors;
  for (auto& [key, listener] : impl_->listeners) {
    std::shared_ptr<TlsServerContext> tls = listener.state->tls.load();
    if (!tls) continue;
    if (Status st = tls->Reload(); !st) {
      kLog.Error("tls certificate reload failed; the old one keeps serving",
                 {{"app", listener.state->app}, {"error", st.error().message}});
      if (!errors.empty()) errors += "; ";
      errors += listener.state->app + ": " + st.error().message;
      continue;
    }
    TlsCertificateInfo info = tls->Certificate();
    kLog.Info("tls certificate reloaded", {{"app", listener.state->app},
                                           {"subject", info.subject},
                                           {"serial", info.serial},
                                           {"not_after", info.not_after_text}});
  }
  if (!errors.empty()) return Error{errors};
  return Ok();
}

void ProxyServer::FlushAccessLog() {
  if (impl_->access_log) impl_->access_log->Flush();
}

int ProxyServer::worker_count() const { return static_cast<int>(impl_->workers.size()); }

std::string ProxyServer::BoundAddress(const std::string& app) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->listeners.find(app);
  return it == impl_->listeners.end() ? "" : it->second.bound;
}

std::string ProxyServer::RedirectAddress(const std::string& app) const {
  return BoundAddress(RedirectKey(app));
}

}  // namespace slipway::proxy
