// AppSpec: the validated, typed form of slipway.yaml. Every field has its default here;
// docs/spec.md documents the same fields and defaults, and spec_parser.cc fills them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace slipway::spec {

using Millis = std::chrono::milliseconds;

enum class ProbeType { kHttp, kTcp };

struct Probe {
  ProbeType type = ProbeType::kHttp;
  std::string path = "/up";        // http only; must start with '/'
  Millis interval{1000};           // between probes
  Millis timeout{1000};            // one probe's connect + answer budget
  int success_threshold = 1;       // consecutive successes to become ready
  int failure_threshold = 3;       // consecutive failures to lose ready / be restarted
  Millis startup_timeout{30'000};  // readiness only: budget from start to ready
};

struct Limits {
  std::optional<std::uint64_t> memory_bytes;  // cgroup memory limit (v1 or v2)
  std::optional<double> cpu;                  // cores, e.g. 0.5 (cgroup cpu quota)
  std::uint64_t open_files = 1024;            // RLIMIT_NOFILE
  std::optional<std::uint64_t> processes;     // pids cgroup limit (and RLIMIT_NPROC)
};

struct RollingStrategy {
  int max_surge = 1;              // extra new replicas allowed above `replicas` during a deploy
  int max_unavailable = 0;        // replicas allowed below `replicas` during a deploy
  Millis ready_deadline{60'000};  // whole-deploy budget for new replicas to become ready
};

// Headers the proxy adds to every response to a client. An empty string: not sent.
struct SecurityHeaders {
  bool enabled = true;  // false: none is added (X-Content-Type-Options: nosniff neither)
  std::string content_security_policy;                              // none by default
  std::string frame_options = "DENY";                               // DENY, SAMEORIGIN or ""
  std::string referrer_policy = "strict-origin-when-cross-origin";  // a W3C token or ""
  bool override = false;  // true: replace the app's own values; false: the app's win
};

// The proxy's defaults below are those of proxy::ListenerOptions (src/proxy/proxy_server.h);
// tests/spec/proxy_options_spec_test.cc checks that they stay equal.
enum class Balancing {
  kLeastRequests,  // `least-requests`: the replica with the fewest requests in flight
  kRoundRobin,     // `round-robin`
};

// Passive health: a replica failing `consecutive_failures` requests in a row gets no new ones
// for base_ejection x (ejections in a row), at most max_ejection.
struct OutlierDetection {
  bool enabled = true;
  int consecutive_failures = 5;  // 1..100; connect errors, timeouts, and 5xx when count_5xx
  bool count_5xx = true;
  Millis base_ejection{10'000};
  Millis max_ejection{300'000};  // >= base_ejection
  int max_ejected_percent = 50;  // 0..100 of the serving replicas (at least one of two or more)
};

struct TlsConfig {
  std::string cert;           // PEM chain, absolute after resolution; "": plain HTTP
  std::string key;            // PEM private key, absolute; set exactly when cert is
  std::string redirect_http;  // host:port of a plain-HTTP listener answering 308 to https; ""
  std::string hsts = "max-age=31536000";  // Strict-Transport-Security on TLS answers; "" none
};

struct ProxyTimeouts {
  Millis header{30'000};             // first byte to end of the request head
  Millis idle{75'000};               // keep-alive wait between requests
  Millis upstream_connect{5'000};    // TCP connect to a replica
  Millis upstream_response{60'000};  // request sent to response head read
  Millis total{300'000};             // whole exchange; >= upstream_response
};

struct ProxyLimits {
  std::uint64_t max_request_body = std::uint64_t{1} << 30;  // bytes; past it 413
  std::uint32_t max_header_bytes = 32 * 1024;               // whole request head; past it 431
  std::uint32_t max_uri_bytes = 8 * 1024;  // request target, <= max_header_bytes; past it 414
  std::uint32_t max_connections = 10'000;  // per listener; past it 503 and close
};

struct ProxyConfig {
  std::string listen = "127.0.0.1:8080";  // host:port or [v6]:port
  Millis drain_timeout{30'000};           // in-flight requests may finish this long
  SecurityHeaders security_headers;
  std::vector<std::string> hide_headers = {"Server", "X-Powered-By"};  // removed from responses
  bool access_log = true;  // one JSON line per request in <state-dir>/logs/access.log
  Balancing balancing = Balancing::kLeastRequests;
  OutlierDetection outlier_detection;
  TlsConfig tls;
  ProxyTimeouts timeouts;
  ProxyLimits limits;
  bool gzip = true;  // compress text responses for clients that accept gzip
};

struct StopConfig {
  int signal = 15;  // SIGTERM
  std::string signal_name = "SIGTERM";
  Millis grace_period{10'000};  // then SIGKILL to the process group
};

struct AppSpec {
  std::string app;      // [a-z0-9][a-z0-9-]{0,62}
  std::string command;  // absolute after resolution (CLI resolves ./x)
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // PORT is reserved: Slipway sets it
  int replicas = 1;                        // 1..100
  std::string user = "nobody";
  std::optional<std::string> group;  // default: the user's primary group
  bool allow_root = false;
  std::string workdir = "/";
  Limits limits;
  Probe readiness;
  std::optional<Probe> liveness;  // none unless given
  StopConfig stop;
  RollingStrategy rolling;
  ProxyConfig proxy;
  std::uint64_t log_max_bytes = 10 << 20;  // per replica log file, one rotated copy kept
};

}  // namespace slipway::spec
