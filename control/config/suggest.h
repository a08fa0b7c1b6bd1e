// "did you mean ...?" for misspelt keys and enum values.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace julier::config {

// Optimal-string-alignment distance (insert, delete, substitute, swap neighbours).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate if it is close enough to be a plausible typo of `word`.
std::optional<std::string_view> closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace julier::config
