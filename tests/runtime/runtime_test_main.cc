// The runtime tests' main: like slipway's, it runs the log relay when asked to ("log-relay ..."),
// so replicas started by the tests get their relay from /proc/self/exe as in the daemon.
#include <string_view>

#include <gtest/gtest.h>

#include "runtime/log_relay.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "log-relay") {
    return slipway::runtime::LogRelayMain(argc - 2, argv + 2);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
