// The time stamp of every Slipway log line (its own log, replica lines, the access log):
// RFC 3339 UTC with exactly three fraction digits, "2024-05-01T12:00:00.123Z", so that lines of
// different logs sort by time as text.
#pragma once

#include <chrono>
#include <string>

namespace slipway {

// Appends `time` in that form. Formats the date part once per second per thread, not per line.
void AppendLogTime(std::string& out, std::chrono::system_clock::time_point time);

// `time` in that form.
std::string LogTime(std::chrono::system_clock::time_point time);

}  // namespace slipway
