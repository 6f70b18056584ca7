// The build context tar: deterministic (same directory, same bytes and digest), .dockerignore
// honoured for simple patterns, `!` exceptions refused.
#include "runtime/build_context.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace slipway::runtime {
namespace {

namespace fs = std::filesystem;

class BuildContextTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sw-bctx-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel) << text;
  }
  fs::path dir_;
};

TEST_F(BuildContextTest, SameDirectorySameDigest) {
  Write("Dockerfile", "FROM scratch\n");
  Write("src/a.txt", "a");
  auto first = ArchiveBuildContext(dir_.string());
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->files, 2u);
  EXPECT_EQ(first->sha256.size(), 64u);
  EXPECT_EQ(first->tar.size() % 512, 0u);
  auto again = ArchiveBuildContext(dir_.string());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->sha256, first->sha256);
  Write("src/a.txt", "b");
  auto changed = ArchiveBuildContext(dir_.string());
  ASSERT_TRUE(changed);
  EXPECT_NE(changed->sha256, first->sha256);
}

TEST_F(BuildContextTest, DockerignoreDropsMatchesAndDirectories) {
  Write("Dockerfile", "FROM scratch\n");
  Write(".dockerignore", "# comment\n*.log\n/build/\n");
  Write("app.log", "x");
  Write("build/out/bin", "x");
  Write("keep", "x");
  Write(".git/HEAD", "x");
  auto ctx = ArchiveBuildContext(dir_.string());
  ASSERT_TRUE(ctx) << ctx.error().message;
  EXPECT_EQ(ctx->files, 3u);  // .dockerignore, Dockerfile, keep
  EXPECT_EQ(ctx->tar.find("app.log"), std::string::npos);
  EXPECT_EQ(ctx->tar.find("build/out"), std::string::npos);
  EXPECT_EQ(ctx->tar.find(".git/"), std::string::npos);
  EXPECT_NE(ctx->tar.find("keep"), std::string::npos);
}

TEST_F(BuildContextTest, ExceptionsAreRefused) {
  Write(".dockerignore", "*.md\n!README.md\n");
  auto ctx = ArchiveBuildContext(dir_.string());
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message,
            ".dockerignore:2: exceptions (!README.md) are not supported by slipway build");
}

TEST_F(BuildContextTest, MissingDirectoryIsAnError) {
  EXPECT_FALSE(ArchiveBuildContext((dir_ / "nope").string()));
}

}  // namespace
}  // namespace slipway::runtime
