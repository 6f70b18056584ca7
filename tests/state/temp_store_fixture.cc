#include "temp_store_fixture.h"

#include <sqlite3.h>
#include <stdlib.h>

namespace slipway::state {

namespace fs = std::filesystem;

void TempStoreTest::SetUp() {
  std::string tmpl = (fs::temp_directory_path() / (dir_prefix_ + "XXXXXX")).string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  dir_ = tmpl;
  path_ = (dir_ / "state.db").string();
  if (open_at_ == OpenAt::kSetUp) {
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
  }
}

void TempStoreTest::TearDown() {
  store_.reset();
  fs::remove_all(dir_);
}

std::unique_ptr<ReleaseStore> TempStoreTest::OpenStore() {
  auto store = ReleaseStore::Open(path_);
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
  return store.ok() ? std::move(store).value() : nullptr;
}

ReleaseStore& TempStoreTest::Store() {
  if (!store_) store_ = OpenStore();
  return *store_;
}

std::string TempStoreTest::RawSql(const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string message = rc == SQLITE_OK ? "" : (err ? err : "error");
  sqlite3_free(err);
  sqlite3_close(db);
  return message;
}

}  // namespace slipway::state
