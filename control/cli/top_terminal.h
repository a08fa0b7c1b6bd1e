// `julierctl top` on a terminal: the screen redrawn in place, `q` to quit, the
// terminal as it was afterwards.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <termios.h>

namespace julier::cli::top {

class Terminal {
public:
    // Switches standard output to the terminal's alternate screen and hides the
    // cursor; when standard input is a terminal too, reads it key by key without
    // echo. The destructor undoes it all; so does SIGINT, SIGTERM or SIGHUP before
    // the signal ends the program as it would have. One at a time.
    Terminal();
    ~Terminal();
    Terminal(const Terminal&) = delete;
    Terminal& operator=(const Terminal&) = delete;

    struct Size {
        std::size_t rows = 24;
        std::size_t columns = 80;
    };
    Size size() const;

    // Replaces the screen with `lines` (each cut to the width by the caller).
    void draw(const std::vector<std::string>& lines);

    enum class Event { timeout, quit, resized };
    // Waits up to `timeout` for `q` (quit) or a change of the terminal's size.
    Event wait(std::chrono::milliseconds timeout);

private:
    bool keys_ = false;  // standard input is the terminal, in non-canonical mode
};

}  // namespace julier::cli::top
