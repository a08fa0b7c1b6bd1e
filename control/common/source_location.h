// Where a value was written in a configuration file, for messages to humans.
#pragma once

#include <compare>
#include <string>

namespace julier::common {

struct SourceLocation {
    std::string file;
    int line = 0;    // 1-based; 0 = the file as a whole
    int column = 0;  // 1-based; 0 = the whole line

    // "file:line:col", "file:line" or "file".
    std::string to_string() const;

    auto operator<=>(const SourceLocation&) const = default;
};

}  // namespace julier::common
