#include "fleet/bird_control.h"

#include "common/file_replace.h"

#include <poll.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace julier::fleet {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

std::string errno_text() { return std::strerror(errno); }

// Reads until `reader` has a complete reply, or throws at the deadline.
void read_reply(int fd, ReplyReader& reader, Clock::time_point deadline, const std::string& what) {
    char buf[4096];
    while (!reader.done()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) throw BirdError(fmt::format("BIRD did not answer {} in time", what));
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) throw BirdError(fmt::format("reading from BIRD: {}", errno_text()));
        if (ready == 0) continue;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw BirdError(fmt::format("reading from BIRD: {}", errno_text()));
        if (n == 0) throw BirdError(fmt::format("BIRD closed the connection during {}", what));
        reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
}

}  // namespace

BirdControl::BirdControl(std::string include_path, std::string socket_path, std::chrono::milliseconds timeout)
    : include_path_(std::move(include_path)), socket_path_(std::move(socket_path)), timeout_(timeout) {}

void BirdControl::write_include(const std::string& text) const {
    // BIRD runs as its own user: readable by all, whatever julierd's umask. The
    // directory is often BIRD's own, so nothing planted there may be followed.
    try {
        common::replace_file(include_path_, text, 0644);
    } catch (const common::FileReplaceError& e) {
        throw BirdError(e.what());
    }
}

std::vector<ReplyLine> BirdControl::command(const std::string& command) const {
    const auto deadline = Clock::now() + timeout_;
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0) throw BirdError(fmt::format("socket: {}", errno_text()));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path_.size() >= sizeof addr.sun_path) throw BirdError("BIRD socket path too long");
    std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    // Non-blocking: a BIRD whose backlog is full (it stopped accepting) answers
    // EAGAIN instead of blocking connect() forever; retried until the deadline.
    for (;;) {
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) break;
        if (errno == EINTR) continue;
        if (errno != EAGAIN)
            throw BirdError(fmt::format("cannot connect to BIRD at {}: {}", socket_path_, errno_text()));
        if (Clock::now() >= deadline) throw BirdError("BIRD did not accept the connection in time");
        ::usleep(10 * 1000);
    }

    ReplyReader hello;
    read_reply(fd.get(), hello, deadline, "its greeting");
    const std::string line = command + "\n";
    if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
        throw BirdError(fmt::format("writing to BIRD: {}", errno_text()));
    ReplyReader reply;
    read_reply(fd.get(), reply, deadline, fmt::format("'{}'", command));
    if (auto error = reply.error()) throw BirdError(fmt::format("BIRD refused '{}': {}", command, *error));
    return reply.lines();
}

void BirdControl::reconfigure() const { command("configure"); }

}  // namespace julier::fleet
