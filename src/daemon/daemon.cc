#include "daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "alerts/alert_monitor.h"
#include "alerts/webhook_poster.h"
#include "api/admin_routes.h"
#include "api/admin_server.h"
#include "api/alert_routes.h"
#include "api/metrics_server.h"
#include "api/slo_routes.h"
#include "common/log.h"
#include "daemon/metrics_page.h"
#include "proxy/proxy_server.h"
#include "rollout/fleet.h"
#include "runtime/docker_engine.h"
#include "runtime/docker_replica.h"
#include "runtime/subreaper.h"
#include "slo/slo_sampler.h"
#include "state/release_store.h"
#include "state/slo_store.h"

namespace slipway::daemon {

constexpr log::Logger kLog{"daemon"};

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// One daemon per state dir: an flock held for the daemon's life (released by the kernel on
// any exit, so a crash never leaves a stale lock).
Result<int> LockStateDir(const std::string& dir) {
  std::string path = dir + "/daemon.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error{fmt::format("cannot open {}: {}", path, std::strerror(errno))};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Error{fmt::format("another slipway daemon is using {}", dir)};
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::write(fd, pid.data(), pid.size()) < 0) {
    // Only informational; the lock is what matters.
  }
  return fd;
}

// Before recovery, while nothing else runs on the loop: the engine's version, and the
// containers this daemon (its owner label) left, so that their replicas are adopted at once.
// Bounded; a missing engine only means docker apps cannot run until it is there.
void TakeContainerCensus(asio::io_context& io, runtime::DockerEngine& engine,
                         const std::string& owner, runtime::ContainerCensus& census) {
  std::error_code ec;
  if (!fs::exists(engine.socket_path(), ec)) {
    kLog.Info("no Docker engine; apps with an image cannot deploy until one is there",
              {{"docker_socket", engine.socket_path()}});
    return;
  }
  bool done = false;
  engine.CheckVersion([&](Result<nlohmann::json> version) {
    if (!version) {
      kLog.Warn("Docker engine not usable", {{"error", version.error().message}});
      done = true;
      return;
    }
    kLog.Info("Docker engine", {{"version", version->value("Version", "?")},
                                {"api", version->value("ApiVersion", "?")},
                                {"docker_socket", engine.socket_path()}});
    engine.ListContainers({{runtime::kLabelOwner, owner}}, [&](Result<nlohmann::json> list) {
      done = true;
      if (!list) {
        kLog.Warn("cannot list containers", {{"error", list.error().message}});
        return;
      }
      for (const auto& c : *list) {
        runtime::LeftContainer left;
        left.id = c.value("Id", "");
        left.running = c.value("State", "") == "running";
        if (c.contains("Names") && !c["Names"].empty()) left.name = c["Names"][0];
        if (c.contains("Labels") && c["Labels"].is_object()) {
          for (const auto& [k, v] : c["Labels"].items()) {
            if (v.is_string()) left.labels[k] = v.get<std::string>();
          }
        }
        census.Add(std::move(left));
      }
    });
  });
  auto deadline = std::chrono::steady_clock::now() + runtime::DockerEngine::kBlockingTimeout;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    io.run_one_until(deadline);
  }
  if (!done) kLog.Warn("the Docker engine did not answer; containers are not adopted");
  io.restart();
}

}  // namespace

int RunDaemon(const DaemonOptions& options) {
  log::Level level = log::Level::kInfo;
  if (options.debug || options.log_level == "debug") {
    level = log::Level::kDebug;
  } else if (options.log_level == "warn") {
    level = log::Level::kWarn;
  } else if (options.log_level == "error") {
    level = log::Level::kError;
  }
  log::Init(level);
  std::error_code ec;
  fs::path dir = fs::absolute(options.state_dir, ec);
  fs::create_directories(dir / "logs", ec);
  if (ec) {
    std::cerr << "slipway daemon: cannot create " << (dir / "logs").string() << ": " << ec.message()
              << "\n";
    return 1;
  }
  auto lock = LockStateDir(dir.string());
  if (!lock) {
    std::cerr << "slipway daemon: " << lock.error().message << "\n";
    return 1;
  }
  // From here on (the state dir is ours) also into a file that `slipway logs` reads.
  log::Init(level, (dir / "logs" / "slipway.log").string());
  ::signal(SIGPIPE, SIG_IGN);
  runtime::BecomeSubreaper();

  auto store = state::ReleaseStore::Open((dir / "state.db").string());
  if (!store) {
    std::cerr << "slipway daemon: state: " << store.error().message << "\n";
    return 1;
  }

  asio::io_context io(1);
  proxy::ProxyServer proxy(0, (dir / "logs" / "access.log").string());
  rollout::AppEnv env;
  env.io = &io;
  env.store = store->get();
  env.proxy = &proxy;
  env.log_dir = (dir / "logs").string();
  env.flags_dir = (dir / "flags").string();
  std::string docker_host =
      options.docker_host.empty() ? runtime::DockerEngine::DefaultHost() : options.docker_host;
  std::optional<runtime::DockerEngine> docker;
  runtime::ContainerCensus census;
  if (auto socket = runtime::DockerEngine::SocketPathOf(docker_host)) {
    docker.emplace(io, *socket);
    env.docker = &*docker;
    env.census = &census;
    env.docker_owner = dir.string();
    TakeContainerCensus(io, *docker, env.docker_owner, census);
  } else {
    kLog.Warn("no Docker engine", {{"error", socket.error().message}});
  }
  rollout::Fleet fleet(env);
  state::SloStore slo_store(**store);
  slo::SloSampler slo_sampler({.io = &io, .store = &slo_store, .read_traffic = [&fleet] {
                                 std::map<std::string, slo::AppTraffic> out;
                                 for (const auto& [app, t] : fleet.ReadTraffic()) {
                                   out[app] = {.requests = t.requests,
                                               .errors = t.errors,
                                               .slow = t.slow,
                                               .serving = t.running && t.has_served,
                                               .down = !t.ready,
                                               .slo = t.slo};
                                 }
                                 return out;
                               }});
  alerts::HttpWebhookPoster webhook_poster(io);
  alerts::AlertMonitor alert_monitor(
      {.io = &io,
       .store = store->get(),
       .poster = &webhook_poster,
       .window_of = [&fleet](const std::string& app,
                             std::int64_t release) { return fleet.WindowOf(app, release); },
       .burn_rate = [&slo_sampler](const std::string& app, const slo::Objective& objective,
                                   std::chrono::seconds window) -> std::optional<double> {
         auto judged = slo_sampler.JudgeWindow(app, objective, window);
         return judged ? judged->burn_rate : std::nullopt;
       }});
  api::AdminServer admin(
      io, (dir / "slipway.sock").string(),
      api::WithSloRoutes(
          slo_sampler, **store,
          api::WithAlertRoutes(alert_monitor,
                               api::MakeAdminRoutes(io, fleet, **store, (dir / "logs").string()))));
  if (Status st = admin.Start(); !st) {
    std::cerr << "slipway daemon: " << st.error().message << "\n";
    return 1;
  }
  std::optional<api::MetricsServer> metrics;
  if (!options.metrics_listen.empty()) {
    metrics.emplace(io, options.metrics_listen,
                    [&fleet, &slo_sampler] { return RenderMetricsPage(fleet, slo_sampler); });
    if (Status st = metrics->Start(); !st) {
      std::cerr << "slipway daemon: " << st.error().message << "\n";
      return 2;  // the operator's address: a usage error, nothing has started yet
    }
  }

  asio::signal_set signals(io, SIGTERM, SIGINT);
  bool stopping = false;
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code err,
                                                                      int sig) {
    if (err) return;
    if (stopping) {
      kLog.Warn("second signal: exiting now", {{"signal", sig}});
      io.stop();  // remaining replicas are SIGKILLed as their owners are destroyed
      return;
    }
    stopping = true;
    kLog.Info("stopping: draining and stopping every replica", {{"signal", sig}});
    admin.Stop();
    alert_monitor.Stop();
    slo_sampler.Stop();  // no availability samples while the apps stop
    fleet.StopAll([&io, &slo_sampler] {
      // The requests answered while draining.
      if (Status st = slo_sampler.Flush(); !st) {
        kLog.Error("slo: cannot store the last minutes", {{"error", st.error().message}});
      }
      kLog.Info("all replicas stopped; daemon exits");
      io.stop();
    });
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  // SIGHUP: renewed TLS certificates (certbot's deploy hook, or the like) are read again.
  asio::signal_set reload_signal(io, SIGHUP);
  std::function<void(boost::system::error_code, int)> on_reload = [&](boost::system::error_code err,
                                                                      int) {
    if (err) return;
    (void)proxy.ReloadCertificates();  // logs each listener's outcome
    reload_signal.async_wait(on_reload);
  };
  reload_signal.async_wait(on_reload);

  kLog.Info("slipway daemon ready", {{"state_dir", dir.string()},
                                     {"socket", (dir / "slipway.sock").string()},
                                     {"metrics", metrics ? metrics->bound_address() : ""},
                                     {"version", SLIPWAY_VERSION},
                                     {"pid", ::getpid()}});
  fleet.Recover();
  // Containers of this daemon that no recorded replica claims (made just before a crash, or
  // whose release no longer runs) would run unsupervised: they go.
  for (const runtime::LeftContainer& left : census.TakeRemaining()) {
    kLog.Info("removing a container no replica claims", {{"container", left.name}});
    docker->RemoveContainer(left.id, true, [](Status) {});
  }
  if (Status st = slo_sampler.Start(); !st) {
    kLog.Error("slo: cannot start; no SLO is measured", {{"error", st.error().message}});
  }
  if (Status st = alert_monitor.Start(); !st) {
    kLog.Error("alerts: cannot start; no alert is evaluated", {{"error", st.error().message}});
  }
  io.run();
  return 0;
}

}  // namespace slipway::daemon
