// Parsing and printing of human durations ("250ms", "10s", "2m", "1h30m", "30d") and byte sizes
// ("256Mi", "1G", "4096"), as written in slipway.yaml.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace slipway {

using Millis = std::chrono::milliseconds;

// Returns nullopt when `text` is not a duration. Units: ms, s, m, h, d (24 h), w (7 d),
// combinable ("1d12h"); a bare number is seconds.
std::optional<Millis> ParseDuration(std::string_view text);

// "1.5s", "250ms", "2m": the shortest exact form.
std::string FormatDuration(Millis d);

// Returns nullopt when `text` is not a size. Suffixes: K/M/G/T (x1000) and Ki/Mi/Gi/Ti (x1024);
// a bare number is bytes.
std::optional<std::uint64_t> ParseByteSize(std::string_view text);

}  // namespace slipway
