// Thin RAII wrappers over the SQLite C API, private to the state module: a prepared
// Statement with bound parameters, a Transaction that rolls back unless committed, and
// Exec for parameterless SQL (pragmas, schema). Every failure becomes an Error carrying
// sqlite's own message. Not thread-safe; the owning connection must outlive them all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace slipway::state {

// "<context>: <sqlite's last error message on db>".
Error SqliteError(sqlite3* db, std::string_view context);

// Runs one or more parameterless statements (each prepared in turn), discarding rows.
Status Exec(sqlite3* db, std::string_view sql);

class Statement {
 public:
  static Result<Statement> Prepare(sqlite3* db, std::string_view sql);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are numbered from 1, like "?1" in the SQL. A failed bind is reported by the
  // next Step() so that call sites can chain binds without checking each one.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view value);        // copied by sqlite (SQLITE_TRANSIENT)
  Statement& Bind(int index, std::optional<int64_t> value);  // nullopt binds NULL
  Statement& BindNull(int index);

  // Returns true when a row is available, false when the statement is done.
  Result<bool> Step();
  // Steps to completion; an error if it fails (rows, if any, are ignored).
  Status Run();

  // Columns of the current row, numbered from 0.
  int64_t Int(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;  // NULL -> nullopt
  std::string Text(int column) const;                    // NULL -> ""

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql)
      : db_(db), stmt_(stmt), sql_(std::move(sql)) {}
  void NoteBind(int rc, int index);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;         // for error messages
  std::string bind_error_;  // first failed bind, reported by Step()
};

// BEGIN IMMEDIATE on construction (via Begin), ROLLBACK on destruction unless Commit()ed.
// IMMEDIATE takes the write lock up front, so read-then-write sequences (next release
// number) cannot interleave with another writer and no deadlock upgrade can happen.
class Transaction {
 public:
  static Result<Transaction> Begin(sqlite3* db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status Commit();

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;  // null once committed or moved from
};

}  // namespace slipway::state
