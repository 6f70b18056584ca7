#include "runtime/log_file_cap.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

#include "runtime/spawn.h"
#include "test_support.h"

namespace slipway::runtime {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;
using testing::ReadFile;
using testing::RunUntil;

// `cat` with the log as its stdout, fed by the test through a pipe: a replica that keeps one
// descriptor of its log for its whole life, as a real one does.
class CatWriter {
 public:
  explicit CatWriter(int log_fd) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[0], 0);
      dup2(log_fd, 1);
      execl("/bin/cat", "cat", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[0]);
    in_ = fds[1];
  }
  ~CatWriter() {
    close(in_);
    int status;
    waitpid(pid_, &status, 0);
  }
  void Write(const std::string& s) {
    ASSERT_EQ(write(in_, s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1;
};

class LogFileCapTest : public ::testing::Test {
 protected:
  std::string Path() const { return dir_.path() + "/r.log"; }
  testing::TempDir dir_;
  boost::asio::io_context io_;
};

TEST_F(LogFileCapTest, ChildWritesStraightIntoTheFile) {
  std::ofstream(Path()) << "earlier run\n";
  LogFileCap cap(io_, Path(), 1 << 20);
  Result<int> fd = cap.OpenForChild();
  ASSERT_TRUE(fd);
  EXPECT_NE(fcntl(*fd, F_GETFL) & O_APPEND, 0);
  EXPECT_NE(fcntl(*fd, F_GETFD) & FD_CLOEXEC, 0);
  LaunchSpec s;
  s.name = testing::UniqueName("log");
  s.command = "/bin/sh";
  s.args = {"-c", "echo out; echo err >&2"};
  Result<SpawnedProcess> p = SpawnProcess(s, nullptr, *fd);
  close(*fd);
  ASSERT_TRUE(p) << p.error().message;
  int status;
  ASSERT_EQ(waitpid(p->pid, &status, 0), p->pid);
  EXPECT_EQ(ReadFile(Path()), "earlier run\nout\nerr\n");
}

TEST_F(LogFileCapTest, CopyTruncatesAtMaxBytesAndTheWriterGoesOnAtTheStart) {
  LogFileCap cap(io_, Path(), 1000);
  Result<int> fd = cap.OpenForChild();
  ASSERT_TRUE(fd);
  CatWriter child(*fd);
  close(*fd);
  child.Write(std::string(600, 'a'));
  ASSERT_TRUE(Eventually([&] { return ReadFile(Path()).size() == 600; }));
  EXPECT_FALSE(cap.CheckNow());
  child.Write(std::string(600, 'b'));
  ASSERT_TRUE(Eventually([&] { return ReadFile(Path()).size() == 1200; }));
  EXPECT_TRUE(cap.CheckNow());
  EXPECT_EQ(ReadFile(Path() + ".1"), std::string(600, 'a') + std::string(600, 'b'));
  EXPECT_EQ(ReadFile(Path()), "");
  EXPECT_FALSE(std::filesystem::exists(Path() + ".1.tmp"));
  // O_APPEND: the same descriptor continues at the new end, no hole of old offsets.
  child.Write("c\n");
  ASSERT_TRUE(Eventually([&] { return ReadFile(Path()) == "c\n"; })) << ReadFile(Path()).size();
  child.Write(std::string(1000, 'd'));
  ASSERT_TRUE(Eventually([&] { return ReadFile(Path()).size() == 1002; }));
  EXPECT_TRUE(cap.CheckNow());
  EXPECT_EQ(ReadFile(Path() + ".1"), "c\n" + std::string(1000, 'd'));  // replaces the first
  EXPECT_EQ(ReadFile(Path()), "");
}

TEST_F(LogFileCapTest, TimerCapsTheFileWhileTheChildWrites) {
  LogFileCap cap(io_, Path(), 4096, 20ms);
  cap.Start();
  Result<int> fd = cap.OpenForChild();
  ASSERT_TRUE(fd);
  CatWriter child(*fd);
  close(*fd);
  std::string written;
  auto both = [&] { return ReadFile(Path() + ".1") + ReadFile(Path()); };
  for (int i = 0; i < 10; ++i) {
    std::string line = "line " + std::to_string(i) + " " + std::string(1000, 'x') + "\n";
    child.Write(line);
    written += line;
    // The cap runs only inside the io_context: let the write land first, so that no write races
    // a copy-truncate and nothing is lost.
    ASSERT_TRUE(Eventually([&] { return ReadFile(Path()).ends_with(line); }));
    ASSERT_TRUE(RunUntil(io_, [&] { return ReadFile(Path()).size() < 4096; }));
    std::string kept = both();
    ASSERT_TRUE(written.ends_with(kept)) << i;
    ASSERT_TRUE(kept.ends_with(line)) << i;
  }
  EXPECT_GE(ReadFile(Path() + ".1").size(), 4096u);
  cap.Stop();
  auto t0 = std::chrono::steady_clock::now();
  io_.restart();
  io_.run_for(10s);  // returns at once when no check is armed any more
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST_F(LogFileCapTest, NoPathOrAnUnopenableOneGivesDevNull) {
  for (const std::string& path : {std::string(), dir_.path() + "/missing/dir/r.log"}) {
    LogFileCap cap(io_, path, 1000);
    Result<int> fd = cap.OpenForChild();
    ASSERT_TRUE(fd);
    EXPECT_EQ(std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(*fd)), "/dev/null");
    close(*fd);
    EXPECT_FALSE(cap.CheckNow());
  }
}

}  // namespace
}  // namespace slipway::runtime
