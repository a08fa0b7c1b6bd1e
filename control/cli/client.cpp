#include "cli/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace julier::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string connect_error(const std::string& path, int err) {
    switch (err) {
        case ENOENT: return fmt::format("julierd is not running: no control socket at {}", path);
        case ECONNREFUSED: return fmt::format("julierd is not running: nothing listens on {} (a stale socket)", path);
        case EACCES:
        case EPERM: return fmt::format("permission denied on {}: run as root or as a member of group julier", path);
        case ENOTDIR: return fmt::format("no control socket at {}: a path component is not a directory", path);
        default: return fmt::format("cannot connect to {}: {}", path, std::strerror(err));
    }
}

// Milliseconds left until `deadline` for poll(), at least 0.
int remaining_ms(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

ControlClient::ControlClient(std::string socket_path) : path_(std::move(socket_path)) {
    sockaddr_un addr{};
    if (path_.empty() || path_.size() >= sizeof(addr.sun_path)) {
        throw ClientError(
            fmt::format("control socket path '{}' is empty or longer than {} bytes", path_, sizeof(addr.sun_path) - 1));
    }
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw ClientError(fmt::format("cannot create a socket: {}", std::strerror(errno)));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        throw ClientError(connect_error(path_, err));
    }
}

ControlClient::~ControlClient() {
    if (fd_ >= 0) ::close(fd_);
}

daemon::protocol::Response ControlClient::call(const daemon::protocol::Request& request,
                                               std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    send_all(daemon::protocol::encode_request(request) + "\n", deadline);
    return daemon::protocol::decode_response(read_line(deadline));
}

void ControlClient::send_all(const std::string& data, Clock::time_point deadline) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        pollfd p{fd_, POLLOUT, 0};
        const int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) throw ClientError("julierd did not accept the request in time");
        const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            throw ClientError(fmt::format("cannot send to julierd on {}: {}", path_, std::strerror(errno)));
        }
        sent += static_cast<std::size_t>(n);
    }
}

std::string ControlClient::read_line(Clock::time_point deadline) {
    // Responses are not size-limited by the protocol (a long backend list), so only
    // a generous sanity bound applies.
    constexpr std::size_t kMaxResponse = 64u << 20;
    char buf[16384];
    for (;;) {
        if (auto nl = pending_.find('\n'); nl != std::string::npos) {
            std::string line = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return line;
        }
        if (pending_.size() > kMaxResponse) throw ClientError("julierd sent a response over 64 MiB");
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) throw ClientError("julierd did not answer in time");
        const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            throw ClientError(fmt::format("cannot read from julierd on {}: {}", path_, std::strerror(errno)));
        }
        if (n == 0) throw ClientError("julierd closed the connection without an answer");
        pending_.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace julier::cli
