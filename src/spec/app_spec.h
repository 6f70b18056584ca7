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

// kExec runs `command` where the replica runs (its user, env, workdir; inside its container);
// exit 0 passes. kRunning passes once the replica has run `running_for` without exiting
// (readiness only).
enum class ProbeType { kHttp, kTcp, kExec, kRunning };

struct Probe {
  ProbeType type = ProbeType::kHttp;
  std::string path = "/up";          // http only; must start with '/'
  std::vector<std::string> command;  // exec only: argv; a string is {"/bin/sh", "-c", text}
  Millis running_for{5000};          // running only: the `for` key
  Millis interval{1000};             // between probes
  Millis timeout{1000};              // one probe's connect + answer budget
  int success_threshold = 1;         // consecutive successes to become ready
  int failure_threshold = 3;         // consecutive failures to lose ready / be restarted
  Millis startup_timeout{30'000};    // readiness only: budget from start to ready
};

struct Limits {
  std::optional<std::uint64_t> memory_bytes;  // cgroup memory limit (v1 or v2)
  std::optional<double> cpu;                  // cores, e.g. 0.5 (cgroup cpu quota)
  std::uint64_t open_files = 1024;            // RLIMIT_NOFILE
  std::optional<std::uint64_t> processes;     // pids cgroup limit (and RLIMIT_NPROC)
  // `reservations:` what a replica keeps under contention (not a cap):
  std::optional<std::uint64_t> memory_reservation_bytes;  // memory.low (v2), soft limit (v1)
  std::optional<double> cpu_reservation;  // cores, as a relative weight: 1024 shares per core
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

enum class Strategy {
  kRolling,    // `rolling`: replace replicas a few at a time (RollingStrategy)
  kBlueGreen,  // `blue_green`: a whole new set beside the old, then one switch
  kCanary,     // `canary`: a share of the traffic by steps, judged by analysis
};

struct BlueGreenStrategy {
  std::string preview_listen;  // host:port serving only the new set before promotion; "" none
  // Promote this long after the new set is ready (and analysis, if any, passed); nullopt: wait
  // for `slipway promote`.
  std::optional<Millis> auto_promote;
  Millis scale_down_delay{30'000};  // the old set keeps running this long after the switch
};

// What one analysis check measures, over the analysis window, from the proxy's own counts.
enum class AnalysisMetric {
  kErrorRate,             // canary 5xx / requests; `max` is a fraction
  kLatencyP95,            // canary p95 in seconds
  kLatencyP99,            // canary p99 in seconds
  kErrorRateVsBaseline,   // canary error rate - baseline error rate; `max` is a fraction
  kLatencyP95VsBaseline,  // canary p95 / baseline p95; `max` is a ratio
  kMannWhitney,           // canary latency stochastically greater than baseline's (one-sided)
};

struct AnalysisCheck {
  std::string name;  // unique within the spec; defaults to the metric's name
  AnalysisMetric metric = AnalysisMetric::kErrorRate;
  double max = 0.05;  // the value above which the check fails (see AnalysisMetric)
  // Requests needed in the window (of the canary, and of the baseline for comparisons); with
  // fewer the check is inconclusive, never passed.
  std::uint64_t min_samples = 20;
  double confidence = 0.95;  // kMannWhitney: fails when p < 1 - confidence
  // kMannWhitney: ignore a shift smaller than this (seconds of median difference), so that a
  // significant but tiny difference does not fail a canary.
  double min_effect = 0.010;
  int line = 0;  // where it was written, for messages
};

struct AnalysisConfig {
  Millis interval{1'000};             // between evaluations
  std::chrono::seconds window{30};    // how much recent traffic each evaluation looks at
  int failure_limit = 1;              // failed evaluations in a row that abort the rollout
  int inconclusive_limit = 10;        // inconclusive evaluations in a row that pause it
  std::vector<AnalysisCheck> checks;  // default: error_rate <= 5%, latency_p95 <= 1s
};

struct CanaryStep {
  enum class Kind { kWeight, kPause, kAnalysis };
  Kind kind = Kind::kWeight;
  int weight = 0;               // kWeight: percent of requests for the canary, 0..100
  std::optional<Millis> pause;  // kPause: how long; nullopt waits for `slipway resume`/promote
  Millis analysis{};            // kAnalysis: checks must keep passing this long
  int line = 0;
};

struct CanaryStrategy {
  std::vector<CanaryStep> steps;  // default: weight 20, analysis 30s, weight 50, analysis 30s
  // Requests carrying this header with value "always" go to the canary, "never" to the stable
  // release, whatever the weight; "" turns header routing off.
  std::string header = "X-Canary";
  // Name of a cookie that keeps a client on the release it first got; "" off.
  std::string sticky_cookie;
};

// A rollout that makes no progress (no replica became ready, no step finished) this long is
// aborted, or paused when abort is false. Manual pauses do not count.
struct ProgressDeadline {
  Millis after{600'000};
  bool abort = true;
};

// A feature flag: on/off, or on for a percentage of users.
struct FlagValue {
  bool percent_based = false;
  bool on = false;               // !percent_based
  double percent = 0;            // percent_based: 0..100
  std::string ToString() const;  // "true", "false", "25%"
};

// Alert rules and where their notifications go: the `alerts` section (docs/alerts.md). The
// expressions are checked by the spec reader and compiled by the alerts module.
struct AlertReceiver {
  std::string name;
  std::string url;         // http://host[:port]/path: the Alertmanager webhook body is POSTed
  Millis timeout{10'000};  // one attempt: connect, send, answer
};

// A built-in rule over the proxy's metrics: `metric(window) > threshold` held for `for_duration`.
struct BuiltinThresholdAlert {
  bool enabled = true;
  double threshold = 0;  // error_rate: a share (0..1); latency_p95: seconds
  std::chrono::seconds window{300};
  Millis for_duration{300'000};
  std::string severity;
};

struct BuiltinCrashLoopingAlert {
  bool enabled = true;
  int restarts = 3;  // unexpected replica exits within `window`
  std::chrono::seconds window{600};
  Millis for_duration{0};
  std::string severity = "critical";
};

// A built-in rule about an event (a failed deploy, a rollback): fires once when it happens,
// resolves `resolve_after` later.
struct BuiltinEventAlert {
  bool enabled = true;
  Millis resolve_after{300'000};
  std::string severity = "warning";
};

// One window pair of the error-budget burn-rate rule (the SRE workbook's multiwindow,
// multi-burn-rate alert): true when the burn rate exceeds `burn_rate` over both windows.
struct BurnRateWindow {
  std::chrono::seconds long_window{3600};
  std::chrono::seconds short_window{300};  // < long_window
  double burn_rate = 14.4;                 // > 0: budget spent this many times faster than even
  std::string severity = "critical";
};

// The built-in ErrorBudgetBurn rule: one alert per SLO and severity; on when the app has an SLO.
struct BuiltinBurnRateAlert {
  bool enabled = true;
  // Default: page at 14.4x over 1h and 5m or 6x over 6h and 30m; ticket at 3x over 1d and 2h or
  // 1x over 3d and 6h.
  std::vector<BurnRateWindow> windows = {
      {std::chrono::hours(1), std::chrono::minutes(5), 14.4, "critical"},
      {std::chrono::hours(6), std::chrono::minutes(30), 6, "critical"},
      {std::chrono::hours(24), std::chrono::hours(2), 3, "warning"},
      {std::chrono::hours(72), std::chrono::hours(6), 1, "warning"}};
  Millis for_duration{0};
};

struct BuiltinAlerts {
  BuiltinThresholdAlert error_rate{.threshold = 0.05, .severity = "critical"};
  BuiltinThresholdAlert latency_p95{.threshold = 1.0, .severity = "warning"};
  BuiltinCrashLoopingAlert crash_looping;
  BuiltinEventAlert deploy_failed;
  BuiltinEventAlert rollback;
  BuiltinBurnRateAlert error_budget_burn;
};

struct AlertRuleSpec {
  std::string name;  // the alertname label: [A-Za-z_][A-Za-z0-9_]*, unique
  std::string expr;  // as written; valid for alerts::ParseAlertExpr
  Millis for_duration{0};
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;  // summary, description, runbook_url, ...
  int line = 0;
};

struct AlertRetry {
  Millis initial_backoff{1'000};    // after the first failed attempt
  Millis max_backoff{60'000};       // the delay doubles up to this
  Millis give_up_after{3'600'000};  // then the notification is kept as a dead letter
};

struct AlertsConfig {
  std::vector<AlertReceiver> receivers;  // every notification goes to each
  Millis evaluation_interval{1'000};
  // Alertmanager's grouping timers, per group (alertname + app): the first notification of a
  // group waits group_wait; later changes wait group_interval after the previous notification;
  // an unchanged firing group is re-sent after repeat_interval.
  Millis group_wait{30'000};
  Millis group_interval{300'000};
  Millis repeat_interval{4 * 3'600'000};
  AlertRetry retry;
  std::string external_url;  // "externalURL" of the body; generatorURL is built from it
  BuiltinAlerts builtin;
  std::vector<AlertRuleSpec> rules;
};

// Service level objectives: the `slo` section (docs/slo.md). Each objective is optional. A
// target is the share of good events to keep (0 < target < 1); the error budget is 1 - target.
// Slipway measures every objective over 1h, 1d and 30d.
struct AvailabilityObjective {
  double target = 0.999;  // share of good minutes: served throughout, 5xx share not above...
  double minute_error_rate = 0.05;  // ...this (a share of that minute's requests)
};

struct LatencyObjective {
  int percentile = 95;  // the `pNN` written: target = percentile / 100
  double target = 0.95;
  Millis threshold{300};  // a request taking longer than this is slow
};

struct SloSpec {
  std::optional<AvailabilityObjective> availability;
  std::optional<LatencyObjective> latency;
  std::optional<double> error_rate;  // the 5xx share allowed, 0 < x < 1; the target is 1 - x
  bool empty() const { return !availability && !latency && !error_rate; }
};

// A named Docker volume mounted into every container of the app (persistent data).
struct VolumeMount {
  std::string name;    // [a-zA-Z0-9][a-zA-Z0-9_.-]*
  std::string target;  // absolute path inside the container
  bool read_only = false;
};

enum class DockerNetwork {
  kHost,    // `host`: the host's network; the app listens on 127.0.0.1:$PORT
  kBridge,  // `bridge`: Docker's bridge; $PORT inside is published on 127.0.0.1:$PORT
};

// The `docker:` block: options of the docker driver (only with `image:`).
struct DockerOptions {
  DockerNetwork network = DockerNetwork::kHost;
  bool read_only = false;            // read-only root filesystem
  std::vector<std::string> cap_add;  // capabilities kept (without CAP_); all others dropped
  std::vector<VolumeMount> volumes;
};

// `build:`: the image is built from a Dockerfile by `slipway deploy` / `slipway build` (in the
// CLI), pushed when a registry is configured, and the release runs the resulting digest.
struct BuildConfig {
  std::string context;                      // directory, absolute after resolution
  std::string dockerfile = "Dockerfile";    // relative to the context, inside it
  std::map<std::string, std::string> args;  // build arguments (Dockerfile ARG)
};

// `registry:`: where built images are pushed and unqualified `image:` names are pulled from.
// Credentials never appear in the spec: the password is read from a file when needed.
struct RegistryConfig {
  std::string server;         // host[:port], e.g. 127.0.0.1:5000
  std::string username;       // "": no credentials
  std::string password_file;  // absolute; set exactly when username is
};

struct AppSpec {
  std::string app;      // [a-z0-9][a-z0-9-]{0,62}
  std::string command;  // absolute after resolution (CLI resolves ./x); with image: optional,
                        // a path inside the image replacing its ENTRYPOINT
  // A container image: selects the docker driver. A digest reference (name@sha256:...) or an
  // image ID (sha256:...); a tag only with allow_mutable_tag. "": the process driver. Without a
  // registry host it is resolved against `registry.server`. With `build:` it may be only the
  // repository (default: the app's name) that the built image is tagged and pushed as.
  std::string image;
  std::optional<BuildConfig> build;
  std::optional<RegistryConfig> registry;
  bool allow_mutable_tag = false;
  DockerOptions docker;
  bool args_given = false;     // `args:` written (docker: else the image's CMD)
  bool user_given = false;     // `user:` written (docker: else the image's USER)
  bool workdir_given = false;  // `workdir:` written (docker: else the image's WORKDIR)
  // Not from the YAML: the image ID the release pinned when it was deployed (set by the rollout
  // from the stored release; a rollback reuses it).
  std::string image_id;
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
  Strategy strategy = Strategy::kRolling;
  RollingStrategy rolling;
  BlueGreenStrategy blue_green;
  CanaryStrategy canary;
  AnalysisConfig analysis;
  ProgressDeadline progress_deadline;
  std::map<std::string, FlagValue> flags;  // name -> initial value (changeable at run time)
  ProxyConfig proxy;
  AlertsConfig alerts;
  SloSpec slo;
  std::uint64_t log_max_bytes = 10 << 20;  // per replica log file, one rotated copy kept
};

}  // namespace slipway::spec
