// ProxyServer: Slipway's HTTP/1.1 reverse proxy. Owns its event loops (one per core). One
// listener per app (plain or TLS, with an optional HTTP-to-HTTPS redirect listener), forwarding
// to that app's BackendPool (a stable group and, during a canary, a canary group chosen by
// header, sticky cookie or weight; least requests or round robin and outlier ejection within
// the group), bodies streamed both ways, keep-alive to clients and pooled keep-alive
// connections to upstreams. Each answer is recorded in its backend's ReleaseWindow.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "proxy/backend_pool.h"

namespace slipway::proxy {

// Headers added to every response a listener sends to clients (proxied or Slipway's own).
// An empty value means the header is not added.
struct SecurityHeaderOptions {
  bool enabled = true;  // false: none of the headers below is added
  std::string content_type_options = "nosniff";
  std::string frame_options = "DENY";
  std::string referrer_policy = "strict-origin-when-cross-origin";
  std::string content_security_policy;  // none by default: a CSP breaks apps
  bool override = false;                // true: replace the app's own values; false: the app wins
};

// How a listener spreads requests over the pool's backends.
enum class Balancing {
  kLeastRequests,  // the backend with the fewest requests in flight (ties: rotating start)
  kRoundRobin,
};

// Passive health: a backend that fails `consecutive_failures` requests in a row (connect error,
// timeout, or a 5xx answer when `count_5xx`) is ejected: it gets no new requests for
// base_ejection x (times ejected in a row), capped at max_ejection. Never more than
// max_ejected_percent of the pool is ejected at once (at least one backend always serves).
struct OutlierOptions {
  bool enabled = true;
  int consecutive_failures = 5;
  bool count_5xx = true;
  std::chrono::milliseconds base_ejection{10'000};
  std::chrono::milliseconds max_ejection{300'000};
  int max_ejected_percent = 50;
};

// TLS termination. Empty cert_file: plain HTTP.
struct TlsOptions {
  std::string cert_file;  // PEM chain, leaf first
  std::string key_file;   // PEM private key
  // When set, a plain-HTTP listener on this address answers every request with 308 to https.
  std::string redirect_http_listen;
  // Strict-Transport-Security on every TLS response; "" for none.
  std::string hsts = "max-age=31536000";
};

struct ProxyTimeouts {
  std::chrono::milliseconds header{30'000};             // first byte to end of request head
  std::chrono::milliseconds idle{75'000};               // keep-alive wait between requests
  std::chrono::milliseconds upstream_connect{5'000};    // TCP connect to a backend
  std::chrono::milliseconds upstream_response{60'000};  // request sent to response head read
  std::chrono::milliseconds total{300'000};  // whole exchange, head read to answer written
};

struct ProxyLimitOptions {
  std::uint64_t max_request_body = std::uint64_t{1} << 30;  // bytes; past it 413
  std::uint32_t max_header_bytes = 32 * 1024;               // whole request head; past it 431
  std::uint32_t max_uri_bytes = 8 * 1024;                   // request target; past it 414
  std::uint32_t max_connections = 10'000;                   // per listener; past it 503 and close
};

struct ListenerOptions {
  std::string app;
  std::string listen;  // "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80"
  std::shared_ptr<BackendPool> pool;
  SecurityHeaderOptions security_headers = {};
  // Removed from upstream responses (case-insensitive names).
  std::vector<std::string> hide_headers = {"Server", "X-Powered-By"};
  bool access_log = true;  // one line per request, when the server has an access log
  Balancing balancing = Balancing::kLeastRequests;
  OutlierOptions outlier = {};
  TlsOptions tls = {};
  ProxyTimeouts timeouts = {};
  ProxyLimitOptions limits = {};
  bool gzip = true;  // compress text responses for clients that accept gzip
  // An idempotent request with a replayable body (none, or read whole before it was sent)
  // whose answer from a canary backend is 500, 502, 503 or 504 is sent once more to the
  // stable group, before any byte of the answer reaches the client; the canary's answer still
  // counts in its ReleaseWindow and its passive health.
  bool retry_canary_5xx = true;
  // Where the listener counts the requests it answers itself, without a backend (a refused
  // head, 503 with no replica, the redirect to https). Null: not counted. Its shards must
  // number at least worker_count().
  std::shared_ptr<metrics::RequestCounters> local_counters = nullptr;
};

class ProxyServer {
 public:
  // Starts `threads` I/O threads (0 = one per core), without an access log.
  explicit ProxyServer(int threads = 0);
  // Same, with an access log at `access_log_path` (rotated at `access_log_max_bytes`, one
  // rotated copy `<path>.1` kept); its directory is created when missing.
  ProxyServer(int threads, std::string access_log_path,
              std::uint64_t access_log_max_bytes = std::uint64_t{64} << 20);
  ~ProxyServer();  // closes listeners and connections, joins threads
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Binds and starts accepting; an error when the address is bad or taken. Idempotent per
  // app when the address is unchanged (the headers and access log options then apply from each
  // connection's next request); a changed address rebinds.
  Status AddListener(const ListenerOptions& options);
  // Stops accepting for `app` and closes its idle client connections.
  void RemoveListener(const std::string& app);
  // The bound "host:port" of an app's listener (port resolved when 0 was asked), or "".
  std::string BoundAddress(const std::string& app) const;
  // The bound address of an app's HTTP-to-HTTPS redirect listener, or "".
  std::string RedirectAddress(const std::string& app) const;
  // Re-reads the certificate and key of every TLS listener. A listener whose new pair is bad
  // keeps serving the old one; the error names it. Open connections keep the certificate they
  // were made with; new ones get the new one.
  Status ReloadCertificates();
  // Waits until every access log line handed over so far is written. A request's line is handed
  // over just after its answer is written, so a client that has read an answer may have to
  // poll for its line.
  void FlushAccessLog();
  // How many I/O threads (workers) serve requests: a Backend's ReleaseWindow needs at least
  // this many shards (each worker records into its own).
  int worker_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slipway::proxy
