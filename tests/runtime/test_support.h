// Shared helpers for the runtime tests: temp dirs, file reads, running an io_context until a
// condition holds (never fixed sleeps).
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace slipway::runtime::testing {

// A fresh directory (mode 0755, so `nobody` can read it), removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/slipway-runtime-XXXXXX";
    path_ = mkdtemp(tmpl);
    chmod(path_.c_str(), 0755);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What a replica printed, from its log file of JSON records (runtime/log_relay.h): the messages,
// each followed by the newline it had (partial records have none). A line that is not a record
// is kept as it is.
inline std::string ReadLogText(const std::string& path) {
  std::istringstream in(ReadFile(path));
  std::string out;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("message")) {
      out += line + "\n";
      continue;
    }
    out += j["message"].get<std::string>();
    if (!j.value("partial", false)) out += "\n";
  }
  return out;
}

// A replica name no other test process uses (names are cgroup directories).
inline std::string UniqueName(const std::string& what) {
  static std::atomic<int> n{0};
  return "t" + std::to_string(getpid()) + "-" + what + "-" + std::to_string(n++);
}

// Runs `io` until `pred` holds or `timeout` passes; returns pred().
inline bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& pred,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(std::min<std::chrono::steady_clock::duration>(deadline - now,
                                                                 std::chrono::milliseconds(20)));
  }
  return true;
}

// For conditions no io event signals (a child finishing its exec): polls until `pred` holds.
inline bool Eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

inline bool ProcessExists(pid_t pid) { return kill(pid, 0) == 0; }

}  // namespace slipway::runtime::testing
