// The control socket of julierd: a Unix stream socket speaking protocol.h, served
// from the daemon's io_context (no threads). Access control is the file system:
// the socket is 0660 with group `julier` when that group exists, else 0600 (root).
// Bounded per connection: one request line (protocol::kMaxLineBytes) is read at a
// time and the next only after its answer is written, so a client that never
// reads cannot make julierd buffer more; a connection that does not complete a
// request, or take its answer, within the idle timeout is closed (blank lines do
// not count as activity). An answer may come later (Reply::later); the loop
// serves everyone else meanwhile. At most kMaxConnections at once, kReservedForRoot of them
// for root only; the one over is told so and closed.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "daemon/protocol.h"

namespace julier::daemon {

namespace detail {
struct ControlServerState;
}

// Who is on the other end of a connection (SO_PEERCRED), for the log.
struct Peer {
    int pid = -1;
    unsigned uid = 0;
    unsigned gid = 0;
};

struct Reply {
    Reply() = default;
    Reply(protocol::Response r, std::function<void()> after = {})
        : response(std::move(r)), after_sent(std::move(after)) {}

    protocol::Response response;
    // Runs once the response has been written (or the write failed), e.g. to exit
    // after telling the client that teardown is done.
    std::function<void()> after_sent;
    // Set when the answer is not known yet (a reload parsing off the loop): the
    // server calls it with `answer`, which the work calls once, on the loop, with
    // the real reply; `response` is unused. Meanwhile the connection waits without
    // an idle deadline (the daemon is busy, not the client) and reads nothing more.
    using Answer = std::function<void(Reply)>;
    std::function<void(Answer)> later;
};

struct ControlAccess {
    std::string group = "julier";  // may connect besides root, when the group exists
    std::chrono::milliseconds idle_timeout{30000};
};

class ControlServer {
public:
    using Handler = std::function<Reply(const protocol::Request&, const Peer&)>;

    ControlServer(boost::asio::io_context& io, Handler handler, ControlAccess access = {});
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Creates the parent directory (0750) when missing, refuses to start when
    // another process answers on `path`, removes a stale socket, binds, sets the
    // mode and group, and starts accepting. Throws std::runtime_error on failure.
    void listen(const std::string& path);

    // Stops accepting, drops open connections and removes the socket file.
    void close();

    const std::string& path() const { return path_; }

    static constexpr std::size_t kMaxConnections = 32;
    // Of those, kept for root: other users together hold at most the rest.
    static constexpr std::size_t kReservedForRoot = 4;

private:
    std::shared_ptr<detail::ControlServerState> state_;
    std::string path_;
};

}  // namespace julier::daemon
