#include "runtime/child_reaper.h"

#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>

namespace slipway::runtime {

namespace asio = boost::asio;

namespace {

class ReaperService;

struct Watch {
  ReaperService* service;
  std::function<void(int)> on_exit;
};

// Reaping and the registry share one lock; see ReapGuard.
std::recursive_mutex& Lock() {
  static std::recursive_mutex m;
  return m;
}
std::map<pid_t, Watch>& Watches() {
  static std::map<pid_t, Watch> w;
  return w;
}

void ReapAll();

class ReaperService : public asio::execution_context::service {
 public:
  using key_type = ReaperService;
  static inline asio::execution_context::id id;

  explicit ReaperService(asio::execution_context& ctx)
      : service(ctx), io_(static_cast<asio::io_context&>(ctx)) {
    signals_.emplace(io_, SIGCHLD);
    Arm();
  }

  asio::io_context& io() { return io_; }

 private:
  void Arm() {
    signals_->async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;  // cancelled at shutdown
      ReapAll();
      Arm();
    });
  }

  // The io_context is going away: its watches can no longer be delivered.
  void shutdown() override {
    std::lock_guard lock(Lock());
    std::erase_if(Watches(), [this](const auto& kv) { return kv.second.service == this; });
    signals_.reset();
  }

  asio::io_context& io_;
  std::optional<asio::signal_set> signals_;
};

void ReapAll() {
  std::lock_guard lock(Lock());
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      if (pid < 0 && errno == EINTR) continue;
      return;  // 0: children left but none exited; -1/ECHILD: no children
    }
    auto it = Watches().find(pid);
    if (it == Watches().end()) continue;  // an orphan re-parented to us, or unwatched
    Watch w = std::move(it->second);
    Watches().erase(it);
    asio::post(w.service->io(), [cb = std::move(w.on_exit), status] { cb(status); });
  }
}

}  // namespace

ReapGuard::ReapGuard() { Lock().lock(); }
ReapGuard::~ReapGuard() { Lock().unlock(); }

void EnsureChildReaper(asio::io_context& io) { asio::use_service<ReaperService>(io); }

void WatchChild(asio::io_context& io, pid_t pid, std::function<void(int)> on_exit) {
  auto& service = asio::use_service<ReaperService>(io);
  {
    std::lock_guard lock(Lock());
    Watches()[pid] = Watch{&service, std::move(on_exit)};
  }
  asio::post(io, [] { ReapAll(); });
}

void UnwatchChild(pid_t pid) {
  std::lock_guard lock(Lock());
  Watches().erase(pid);
}

}  // namespace slipway::runtime
