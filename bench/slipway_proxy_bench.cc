// slipway_proxy_bench: Slipway's reverse proxy alone, in front of one fixed upstream, for
// bench/proxy to compare with nginx and HAProxy. Uses only the public ProxyServer/BackendPool
// API, so it keeps building while the proxy's internals change.
//
// Usage: slipway_proxy_bench --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT [--threads N]
//                            [--access-log PATH] [--release-window on|off]
// Prints "listening HOST:PORT" once bound, runs until SIGINT or SIGTERM.

#include <signal.h>
#include <sys/resource.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "metrics/release_window.h"
#include "metrics/request_counters.h"
#include "proxy/backend_pool.h"
#include "proxy/proxy_server.h"

namespace {

constexpr const char* kUsage =
    "usage: slipway_proxy_bench --listen HOST:PORT --upstream HOST:PORT [--threads N] "
    "[--access-log PATH] [--release-window on|off]\n";

struct Flags {
  std::string listen;
  std::string upstream_host;
  std::uint16_t upstream_port = 0;
  int threads = 0;  // 0: one per core
  std::string access_log;
  // Per-release counts as the daemon keeps them: the analysis window and the /metrics counters
  // (the release's, and the listener's for its own answers).
  bool release_window = true;
};

[[noreturn]] void Usage(const std::string& message) {
  std::fprintf(stderr, "slipway_proxy_bench: %s\n%s", message.c_str(), kUsage);
  std::exit(2);
}

template <typename T>
T ParseNumber(std::string_view flag, std::string_view text, T min, T max) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    Usage(std::string(flag) + ": not a number in range: " + std::string(text));
  }
  return value;
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) Usage(std::string(flag) + " needs a value");
    std::string_view value = argv[++i];
    if (flag == "--listen") {
      flags.listen = value;
    } else if (flag == "--upstream") {
      auto colon = value.rfind(':');
      if (colon == std::string_view::npos || colon == 0) Usage("--upstream wants HOST:PORT");
      flags.upstream_host = value.substr(0, colon);
      flags.upstream_port =
          ParseNumber<std::uint16_t>(flag, value.substr(colon + 1), 1, UINT16_MAX);
    } else if (flag == "--threads") {
      flags.threads = ParseNumber<int>(flag, value, 0, 1024);
    } else if (flag == "--access-log") {
      flags.access_log = value;
    } else if (flag == "--release-window") {
      if (value != "on" && value != "off") Usage("--release-window wants on or off");
      flags.release_window = value == "on";
    } else {
      Usage("unknown flag " + std::string(flag));
    }
  }
  if (flags.listen.empty() || flags.upstream_host.empty()) Usage("--listen and --upstream needed");
  return flags;
}

// Idle-connection tests open thousands of sockets; the default soft limit (1024) is too low.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  RaiseFileLimit();

  // Blocked before the proxy starts its threads (they inherit the mask), so only sigwait below
  // receives them and the threads run undisturbed.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto backend = std::make_shared<slipway::proxy::Backend>();
  backend->id = "bench-upstream-0";
  backend->host = flags.upstream_host;
  backend->port = flags.upstream_port;
  backend->release = 1;
  std::optional<slipway::proxy::ProxyServer> server;
  if (flags.access_log.empty()) {
    server.emplace(flags.threads);
  } else {
    // No rotation during a run (nginx and HAProxy do not rotate either), so bench/proxy can
    // count every line.
    server.emplace(flags.threads, flags.access_log, std::uint64_t{1} << 40);
  }
  std::shared_ptr<slipway::metrics::RequestCounters> local_counters;
  if (flags.release_window) {
    backend->window = std::make_shared<slipway::metrics::ReleaseWindow>(server->worker_count());
    backend->counters = std::make_shared<slipway::metrics::RequestCounters>(server->worker_count());
    local_counters = std::make_shared<slipway::metrics::RequestCounters>(server->worker_count());
  }
  auto pool = std::make_shared<slipway::proxy::BackendPool>();
  pool->Publish({backend});

  slipway::Status status = server->AddListener(
      {.app = "bench", .listen = flags.listen, .pool = pool, .local_counters = local_counters});
  if (!status) {
    std::fprintf(stderr, "slipway_proxy_bench: %s\n", status.error().message.c_str());
    return 1;
  }
  std::printf("listening %s\n", server->BoundAddress("bench").c_str());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  server.reset();  // closes connections and joins the I/O threads before exit
  return 0;
}
