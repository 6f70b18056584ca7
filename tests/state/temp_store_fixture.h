// TempStoreTest: the store tests' fixture. Each test gets a fresh directory with a real SQLite
// file in it, removed afterwards.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "state/release_store.h"

namespace slipway::state {

class TempStoreTest : public ::testing::Test {
 protected:
  enum class OpenAt {
    kSetUp,     // store_ is open when the test starts
    kFirstUse,  // Store() opens it, so that a test can write the file first (migrations)
  };
  // The directory is <temp>/<dir_prefix>XXXXXX.
  TempStoreTest(std::string dir_prefix, OpenAt open_at)
      : dir_prefix_(std::move(dir_prefix)), open_at_(open_at) {}

  void SetUp() override;
  void TearDown() override;

  // A new store on path_ (another connection); null, and the test failed, when it cannot open.
  std::unique_ptr<ReleaseStore> OpenStore();
  // store_, opened first if it is not.
  ReleaseStore& Store();
  // Runs raw SQL on a second connection, as an operator with the sqlite3 shell would; returns
  // sqlite's error message, or "" when the statement succeeded.
  std::string RawSql(const std::string& sql);

  std::filesystem::path dir_;
  std::string path_;  // dir_/state.db
  std::unique_ptr<ReleaseStore> store_;

 private:
  std::string dir_prefix_;
  OpenAt open_at_;
};

}  // namespace slipway::state
