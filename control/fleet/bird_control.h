// The I/O edge toward BIRD: the include file julierd owns (written whole, then
// renamed) and BIRD's control socket (one command, one reply, bounded by a timeout).
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "fleet/bird_reply.h"

namespace julier::fleet {

class BirdError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class BirdControl {
public:
    BirdControl(std::string include_path, std::string socket_path,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

    // Writes `text` through a temporary file and rename, so BIRD never reads half a
    // file. Throws BirdError.
    void write_include(const std::string& text) const;

    // Connects, sends `command` and returns the reply; throws BirdError when BIRD is
    // unreachable, silent past the timeout, or answers with an error code.
    std::vector<ReplyLine> command(const std::string& command) const;

    // `configure`: BIRD re-reads its configuration (and so the include file).
    void reconfigure() const;

    const std::string& include_path() const { return include_path_; }
    const std::string& socket_path() const { return socket_path_; }

private:
    std::string include_path_;
    std::string socket_path_;
    std::chrono::milliseconds timeout_;
};

}  // namespace julier::fleet
