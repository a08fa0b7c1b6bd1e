#include "common/source_location.h"

namespace julier::common {

std::string SourceLocation::to_string() const {
    std::string out = file;
    if (line > 0) {
        out += ':' + std::to_string(line);
        if (column > 0) out += ':' + std::to_string(column);
    }
    return out;
}

}  // namespace julier::common
