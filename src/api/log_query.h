// The filter behind `GET /v1/apps/APP/log-lines` (`slipway logs`): which lines of an app's
// replica logs, of the access log and of Slipway's own log to return, merged by time. Pure
// functions over lines, and ReadLogFile, which applies them to a file. docs/logs.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace slipway::api {

enum class LogSource { kReplica, kAccess, kSlipway };
// "replica", "access", "slipway".
const char* LogSourceName(LogSource source);

struct LogFilter {
  std::string app;
  std::optional<std::int64_t> since_ms;  // lines at or after (ms since the epoch, UTC)
  std::optional<std::int64_t> until_ms;  // lines at or before
  std::string request_id;                // "": any; else lines that carry or mention it
  std::optional<std::int64_t> release;
  std::optional<int> replica;  // index within its release
};

struct LogLine {
  LogSource source = LogSource::kReplica;
  std::int64_t time_ms = 0;
  std::string text;  // the line as written, without its newline
  nlohmann::json record;
};

// The line as a record of `source`; nullopt when it is not a JSON object with a valid "time".
std::optional<LogLine> ParseLogLine(std::string_view text, LogSource source);

// Whether `line` passes `filter`:
//  - time within [since, until];
//  - the app: replica lines are the app's by their file; access and Slipway lines by "app";
//  - release: the record's "release";
//  - replica: a replica line's "replica"; an access line whose "upstream" is that replica
//    (APP-rRELEASE-I); a Slipway line whose fields name it ("replica" or "backend");
//  - request id: "request_id" equals it, or "message" contains it.
bool Matches(const LogLine& line, const LogFilter& filter);

// Appends the lines of `path` (a missing file has none) that pass `filter`. Skips the file
// unread when it was last written before filter.since_ms.
void ReadLogFile(const std::string& path, LogSource source, const LogFilter& filter,
                 std::vector<LogLine>& out);

// All lines of `sources` in time order; lines with the same time keep the order of their source
// and of `sources`.
std::vector<LogLine> MergeByTime(std::vector<std::vector<LogLine>> sources);

}  // namespace slipway::api
