// A rule that an earlier layer has already enforced with a located message
// (the catalogue checks, in config/) and a later layer relies on. A broken one is
// a bug in julier, not an operator error: it throws, so that the daemon's usual
// handlers report it and nothing is half-applied.
#pragma once

#include <stdexcept>
#include <string>

namespace julier::common {

class BrokenInvariant : public std::logic_error {
public:
    explicit BrokenInvariant(const std::string& what) : std::logic_error("bug: " + what) {}
};

// Cheap by design: one test; `what` is only read when the test fails.
inline void invariant(bool holds, const char* what) {
    if (!holds) [[unlikely]] {
        throw BrokenInvariant(what);
    }
}

}  // namespace julier::common
