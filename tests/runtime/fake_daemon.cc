// A stand-in for `slipway daemon` in the adoption tests: starts one ProcessReplica, prints its
// own pid and the identity of the replica's process on stdout
// ("<daemon pid> <pid> <start_time> <boot_id> <token>\n") and supervises
// it until it is SIGKILLed, so the test can watch the replica (and its log relay) outlive the
// daemon.
//
// Usage: runtime_fake_daemon NAME LOG_PATH LOG_MAX_BYTES MEMORY_BYTES|- COMMAND [ARG...]
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <string>

#include "runtime/log_relay.h"
#include "runtime/process_replica.h"
#include "runtime/subreaper.h"

namespace {

using slipway::runtime::Millis;

struct SilentObserver : slipway::runtime::ReplicaObserver {
  void OnReplicaStarted(int) override {}
  void OnReplicaExited(int, const std::string&, bool, Millis) override {}
};

}  // namespace

int main(int argc, char** argv) {
  // Its replica's log relay is this binary too (like slipway's).
  if (argc >= 2 && std::string(argv[1]) == "log-relay") {
    return slipway::runtime::LogRelayMain(argc - 2, argv + 2);
  }
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s NAME LOG MAX_BYTES MEMORY|- COMMAND [ARG...]\n", argv[0]);
    return 2;
  }
  slipway::runtime::BecomeSubreaper();  // like the daemon
  slipway::runtime::LaunchSpec spec;
  spec.name = argv[1];
  spec.log_path = argv[2];
  spec.log_max_bytes = std::stoull(argv[3]);
  if (std::string(argv[4]) != "-") spec.limits.memory_bytes = std::stoull(argv[4]);
  spec.command = argv[5];
  for (int i = 6; i < argc; ++i) spec.args.push_back(argv[i]);
  spec.env = {{"PATH", "/usr/bin:/bin"}};

  boost::asio::io_context io;
  SilentObserver observer;
  slipway::runtime::ProcessReplica replica(io, spec, &observer);
  if (slipway::Status st = replica.Start(); !st) {
    std::fprintf(stderr, "start: %s\n", st.error().message.c_str());
    return 1;
  }
  auto id = replica.identity();
  if (!id) {
    std::fprintf(stderr, "no identity\n");
    return 1;
  }
  std::printf("%d %d %llu %s %s\n", static_cast<int>(getpid()), id->pid,
              static_cast<unsigned long long>(id->start_time), id->boot_id.c_str(),
              id->token.c_str());
  std::fflush(stdout);
  io.run();  // until SIGKILL: the reaper's SIGCHLD wait keeps it busy
  return 0;
}
