// RFC 3339 timestamps as the store writes them ("2026-11-24T18:01:07.123Z"), to and from
// milliseconds since the Unix epoch, so that the report can subtract them. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace slipway::report {

// Milliseconds since the epoch (UTC) of `text`, or nullopt when it is not an RFC 3339 date-time:
// "YYYY-MM-DDTHH:MM:SS", an optional fraction of any length (digits past the millisecond are
// dropped, not rounded), then "Z" or an offset "+HH:MM" / "-HH:MM". "T" and "Z" may be lower
// case. Every field is range-checked (February 29 only in leap years); a leap second (:60) is
// read as the first millisecond after :59.999 (POSIX time has no leap seconds).
std::optional<std::int64_t> ParseTimestampMs(std::string_view text);

// "2026-11-24T18:01:07.123Z": the store's own form.
std::string FormatTimestampMs(std::int64_t ms);

}  // namespace slipway::report
