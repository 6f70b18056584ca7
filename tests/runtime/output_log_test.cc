#include "runtime/output_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <fstream>

#include "test_support.h"

namespace slipway::runtime {
namespace {

using testing::ReadFile;
using testing::RunUntil;

void WriteAll(int fd, const std::string& s) {
  ASSERT_EQ(write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

TEST(OutputLogTest, AppendsPipeOutputToTheFile) {
  testing::TempDir dir;
  std::string path = dir.path() + "/r.log";
  std::ofstream(path) << "earlier run\n";
  boost::asio::io_context io;
  OutputLog log(io, path, 1 << 20);
  Result<int> fd = log.OpenPipe();
  ASSERT_TRUE(fd);
  WriteAll(*fd, "hello\n");
  close(*fd);
  EXPECT_TRUE(RunUntil(io, [&] { return ReadFile(path) == "earlier run\nhello\n"; }))
      << ReadFile(path);
}

TEST(OutputLogTest, RotatesAtMaxBytesKeepingOneOldFile) {
  testing::TempDir dir;
  std::string path = dir.path() + "/r.log";
  boost::asio::io_context io;
  OutputLog log(io, path, 1000);
  Result<int> fd = log.OpenPipe();
  ASSERT_TRUE(fd);
  WriteAll(*fd, std::string(600, 'a'));
  ASSERT_TRUE(RunUntil(io, [&] { return ReadFile(path).size() == 600; }));
  WriteAll(*fd, std::string(600, 'b'));
  ASSERT_TRUE(RunUntil(io, [&] { return ReadFile(path + ".1").size() == 1200; }));
  WriteAll(*fd, "c\n");
  EXPECT_TRUE(RunUntil(io, [&] { return ReadFile(path) == "c\n"; }));
  WriteAll(*fd, std::string(1000, 'd'));
  // The second rotation replaces the first .1.
  EXPECT_TRUE(
      RunUntil(io, [&] { return ReadFile(path + ".1") == "c\n" + std::string(1000, 'd'); }));
  EXPECT_EQ(ReadFile(path), "");
  close(*fd);
}

TEST(OutputLogTest, DestructorKeepsWhatThePipeStillHolds) {
  testing::TempDir dir;
  std::string path = dir.path() + "/r.log";
  boost::asio::io_context io;
  {
    OutputLog log(io, path, 1 << 20);
    Result<int> fd = log.OpenPipe();
    ASSERT_TRUE(fd);
    WriteAll(*fd, "last words\n");
    close(*fd);
  }  // io never ran
  EXPECT_EQ(ReadFile(path), "last words\n");
}

}  // namespace
}  // namespace slipway::runtime
