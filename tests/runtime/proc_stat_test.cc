#include "runtime/proc_stat.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "test_support.h"

namespace slipway::runtime {
namespace {

// Fields 3..52 of a real stat line (Linux 6.x), after "<pid> (<comm>)".
constexpr char kTail[] =
    " S 4242 1234 1234 0 -1 4194560 102 0 0 0 0 0 0 0 20 0 1 0 987654 2441216 200 "
    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 768\n";

TEST(ProcStatTest, ParsesAfterTheLastParenthesis) {
  for (const std::string comm : {"sh", "a b", "x) (y", ") S 1 2 3 (", "(()"}) {
    Result<ProcStat> st = ParseProcStat("1234 (" + comm + ")" + kTail);
    ASSERT_TRUE(st) << comm << ": " << st.error().message;
    EXPECT_EQ(st->state, 'S') << comm;
    EXPECT_EQ(st->ppid, 4242) << comm;
    EXPECT_EQ(st->pgrp, 1234) << comm;
    EXPECT_EQ(st->start_time, 987654u) << comm;
    EXPECT_EQ(st->exit_code, 768) << comm;
  }
}

TEST(ProcStatTest, ParsesCpuTimesAndMemory) {
  Result<ProcStat> st = ParseProcStat(
      "77 (app) R 1 77 77 0 -1 4194560 5 0 0 0 1234 567 0 0 20 0 3 0 4000 104857600 2560 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->utime, 1234u);
  EXPECT_EQ(st->stime, 567u);
  EXPECT_EQ(st->start_time, 4000u);
  EXPECT_EQ(st->vsize, 104857600u);
  EXPECT_EQ(st->rss, 2560u);
}

TEST(ProcStatTest, RejectsTruncatedOrGarbledText) {
  EXPECT_FALSE(ParseProcStat("1234 sh S 1 2"));
  EXPECT_FALSE(ParseProcStat("1234 (sh) S 1 2 3"));
  EXPECT_FALSE(ParseProcStat("1234 (sh) S x 1234 1234 0 -1 1 1 0 0 0 0 0 0 0 20 0 1 0 5 1 1"));
  // Older kernels end before field 52: no exit code, the rest is there.
  Result<ProcStat> st =
      ParseProcStat("1 (init) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 5 1 1");
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->start_time, 5u);
  EXPECT_EQ(st->exit_code, std::nullopt);
}

TEST(ProcStatTest, ReadsThisProcessAndReportsMissingOnes) {
  Result<ProcStat> self = ReadProcStat(getpid());
  ASSERT_TRUE(self) << self.error().message;
  EXPECT_EQ(self->ppid, getppid());
  EXPECT_EQ(self->pgrp, getpgrp());
  EXPECT_GT(self->start_time, 0u);
  EXPECT_FALSE(self->dead());
  Result<ProcStat> none = ReadProcStat(0x3ffffff);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "pid 67108863 is not running");
}

// A process in a group of its own that exits when `go` reaches EOF.
pid_t GroupLeader(int go[2]) {
  pid_t leader = fork();
  if (leader == 0) {
    setpgid(0, 0);
    close(go[1]);
    char c;
    ssize_t n = read(go[0], &c, 1);
    _exit(n < 0 ? 1 : 0);
  }
  return leader;
}

TEST(ProcStatTest, OurZombieIsLeftUntilReaped) {
  int go[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  pid_t leader = GroupLeader(go);
  ASSERT_GT(leader, 0);
  close(go[0]);
  ASSERT_TRUE(testing::Eventually([&] { return getpgid(leader) == leader; }));
  EXPECT_TRUE(GroupHasMembersLeft(leader));
  close(go[1]);
  ASSERT_TRUE(testing::Eventually([&] { return ReadProcStat(leader)->dead(); }));
  EXPECT_TRUE(GroupHasMembersLeft(leader));  // ours to reap
  int status;
  EXPECT_EQ(waitpid(leader, &status, 0), leader);
  EXPECT_FALSE(GroupHasMembersLeft(leader));
}

TEST(ProcStatTest, ZombieOfAnotherParentIsGone) {
  int go[2];
  int report[2];
  int release[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(release, O_CLOEXEC), 0);
  // The parent that does not reap: it forks the leader, reports its pid and waits for release.
  pid_t parent = fork();
  if (parent == 0) {
    close(release[1]);
    pid_t leader = GroupLeader(go);
    close(go[0]);
    close(go[1]);  // only the test may keep the leader alive
    ssize_t w = write(report[1], &leader, sizeof leader);
    char c;
    ssize_t r = read(release[0], &c, 1);
    int status;
    waitpid(leader, &status, 0);
    _exit(w == sizeof leader && r >= 0 ? 0 : 1);
  }
  ASSERT_GT(parent, 0);
  close(go[0]);
  close(report[1]);
  close(release[0]);
  pid_t leader = 0;
  ASSERT_EQ(read(report[0], &leader, sizeof leader), static_cast<ssize_t>(sizeof leader));
  close(report[0]);
  ASSERT_TRUE(testing::Eventually([&] { return getpgid(leader) == leader; }));
  EXPECT_TRUE(GroupHasMembersLeft(leader));
  close(go[1]);
  ASSERT_TRUE(testing::Eventually([&] { return ReadProcStat(leader)->dead(); }));
  EXPECT_EQ(kill(-leader, 0), 0);  // the zombie is still in its group
  EXPECT_FALSE(GroupHasMembersLeft(leader));
  close(release[1]);
  int status;
  EXPECT_EQ(waitpid(parent, &status, 0), parent);
}

}  // namespace
}  // namespace slipway::runtime
