#include "state/sqlite_statement.h"

#include <sqlite3.h>

#include <utility>

namespace slipway::state {

Error SqliteError(sqlite3* db, std::string_view context) {
  return Error{std::string(context) + ": " + sqlite3_errmsg(db)};
}

Status Exec(sqlite3* db, std::string_view sql) {
  const char* next = sql.data();
  const char* end = sql.data() + sql.size();
  while (next < end) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db, next, static_cast<int>(end - next), &stmt, &tail);
    if (rc != SQLITE_OK) return SqliteError(db, "state: preparing SQL");
    next = tail;
    if (stmt == nullptr) continue;  // whitespace or a comment
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return SqliteError(db, "state");
  }
  return Ok();
}

Result<Statement> Statement::Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db, "state: preparing \"" + std::string(sql) + "\"");
  }
  return Statement(db, stmt, std::string(sql));
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      sql_(std::move(other.sql_)),
      bind_error_(std::move(other.bind_error_)) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }  // a no-op on null

void Statement::NoteBind(int rc, int index) {
  if (rc != SQLITE_OK && bind_error_.empty()) {
    bind_error_ = "state: binding parameter " + std::to_string(index) + " of \"" + sql_ +
                  "\": " + sqlite3_errstr(rc);
  }
}

Statement& Statement::Bind(int index, int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view value) {
  NoteBind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
  return *this;
}

Statement& Statement::Bind(int index, std::optional<int64_t> value) {
  return value ? Bind(index, *value) : BindNull(index);
}

Statement& Statement::BindNull(int index) {
  NoteBind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Result<bool> Statement::Step() {
  if (!bind_error_.empty()) return Error{bind_error_};
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, "state");
}

Status Statement::Run() {
  for (;;) {
    auto row = Step();
    if (!row) return row.error();
    if (!*row) return Ok();
  }
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::optional<int64_t> Statement::OptionalInt(int column) const {
  if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

Result<Transaction> Transaction::Begin(sqlite3* db) {
  if (auto s = Exec(db, "BEGIN IMMEDIATE"); !s) return s.error();
  return Transaction(db);
}

Transaction::~Transaction() {
  // Nothing useful can be done if ROLLBACK fails (the connection is then unusable anyway);
  // sqlite rolls back on its own when the statement that failed was fatal.
  if (db_ != nullptr && !sqlite3_get_autocommit(db_)) (void)Exec(db_, "ROLLBACK");
}

Status Transaction::Commit() {
  if (auto s = Exec(db_, "COMMIT"); !s) return s;
  db_ = nullptr;
  return Ok();
}

}  // namespace slipway::state
