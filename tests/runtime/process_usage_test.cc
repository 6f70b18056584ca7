// ReadProcessUsage and CountOpenFds on this test process.
#include "runtime/process_usage.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <vector>

namespace slipway::runtime {
namespace {

TEST(ProcessUsageTest, ReadsThisProcess) {
  // Burn a little CPU so the user time is not 0 ticks.
  volatile std::uint64_t x = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(30);
  while (std::chrono::steady_clock::now() < until) x = x + 1;
  std::vector<char> touched(8 << 20, 1);  // 8 MiB resident at least
  Result<ProcessUsage> usage = ReadProcessUsage(getpid());
  ASSERT_TRUE(usage) << usage.error().message;
  EXPECT_GT(usage->cpu_seconds, 0.0);
  EXPECT_GE(usage->resident_bytes, touched.size());
  EXPECT_GE(usage->virtual_bytes, usage->resident_bytes);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Started within the last hour (boot time + ticks), not in the future beyond tick rounding.
  EXPECT_LE(usage->start_time_seconds, now + 2);
  EXPECT_GT(usage->start_time_seconds, now - 3600);
  EXPECT_FALSE(ReadProcessUsage(0x3ffffff));
}

TEST(ProcessUsageTest, CountsOpenDescriptors) {
  Result<int> before = CountOpenFds(getpid());
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_GE(*before, 3);  // stdin, stdout, stderr at least
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  Result<int> after = CountOpenFds(getpid());
  close(fds[0]);
  close(fds[1]);
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, *before + 2);
  EXPECT_FALSE(CountOpenFds(0x3ffffff));
}

}  // namespace
}  // namespace slipway::runtime
