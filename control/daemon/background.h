// Running julierd in the background without --foreground (and not under systemd).
//
// The process forks before it opens anything; the parent stays attached to the
// terminal until the child reports that it is ready (exit 0) or dies during start-up
// (exit 1), so `julierd && echo up` means forwarding is up, and start-up errors
// still reach the terminal. Only then does the child leave the terminal.
#pragma once

namespace julier::daemon {

class Background {
public:
    // Forks. Returns in the child (new session); the parent waits and exits.
    // Call before any thread exists.
    static Background detach();

    Background(Background&& other) noexcept;
    Background& operator=(Background&&) = delete;
    Background(const Background&) = delete;
    ~Background();

    // Tells the parent to exit 0 and points stdin/stdout/stderr at /dev/null.
    void ready();

private:
    explicit Background(int ready_fd) : ready_fd_(ready_fd) {}
    int ready_fd_ = -1;
};

}  // namespace julier::daemon
