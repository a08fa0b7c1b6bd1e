// Durations as written in the catalogue: "500ms", "2s", "1m", "1h", "1m30s".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace julier::config {

// One or more <integer><unit> terms (unit ms, s, m or h) added together; a bare
// "0" is also accepted. Nothing on overflow or bad syntax.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest exact spelling: 1500ms -> "1500ms", 2000ms -> "2s", 90000ms -> "1m30s".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace julier::config
