// JSON string literals written by hand, for log writers that format lines without a JSON object
// per line (the access log, the replica log relay). Pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace slipway {

// The length of the valid UTF-8 sequence at the start of `s` (1 to 4), or 0 when it is not one
// (or `s` is empty).
std::size_t Utf8SequenceLength(std::string_view s);

// Appends `s` as a quoted JSON string (RFC 8259). Bytes that are not UTF-8 become U+FFFD rather
// than losing the line; control characters are escaped as \u00XX.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace slipway
