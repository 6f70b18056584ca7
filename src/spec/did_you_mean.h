// Suggestions for misspelled names ("replcas" -> "replicas"), used in unknown-key and
// unknown-value diagnostics.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace slipway::spec {

// Levenshtein distance: the fewest single-character insertions, deletions and substitutions
// that turn `a` into `b`.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` (compared case-insensitively) when it is close enough to be
// a plausible typo: distance 1 for words of up to 4 characters, 2 for longer ones. Ties go to
// the earlier candidate. nullopt when nothing is that close.
std::optional<std::string> DidYouMean(std::string_view word,
                                      std::span<const std::string_view> candidates);

// "a, b, c": for "valid keys: ..." and "supported: ..." lists.
std::string JoinNames(std::span<const std::string_view> names);

}  // namespace slipway::spec
