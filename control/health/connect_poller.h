// Many non-blocking TCP connects in flight, watched by one epoll instance that the
// io_context waits on as a single descriptor. A connect then costs socket, connect,
// one epoll_ctl and close; an Asio socket per connect adds FIONBIO, a second
// epoll_ctl, poll and getsockopt, which is a fifth of the checker's CPU at ten
// thousand checks per second. Internal to health/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/error_code.hpp>

namespace julier::health {

class ConnectPoller : public std::enable_shared_from_this<ConnectPoller> {
public:
    using Done = std::function<void(const boost::system::error_code&)>;

    // Throws std::system_error when no epoll instance can be made.
    static std::shared_ptr<ConnectPoller> create(boost::asio::io_context& io);
    ~ConnectPoller();
    ConnectPoller(const ConnectPoller&) = delete;
    ConnectPoller& operator=(const ConnectPoller&) = delete;

    // Watches `fd`, a socket whose non-blocking connect() is in progress; `done`
    // gets the outcome once, from the io_context. Returns a failure at once (and
    // never calls `done`) when the socket cannot be watched.
    boost::system::error_code watch(int fd, Done done);
    // Stops watching `fd` without calling its `done`; call before closing it.
    void forget(int fd);

private:
    explicit ConnectPoller(boost::asio::io_context& io, int epoll_fd);
    void wait();
    void dispatch();

    struct Watch {
        Done done;
        std::uint32_t generation = 0;
    };

    boost::asio::posix::stream_descriptor epoll_;
    // Indexed by descriptor: a descriptor is unique while open.
    std::vector<Watch> watches_;
    std::uint32_t generation_ = 0;
    bool waiting_ = false;
    std::size_t active_ = 0;
};

}  // namespace julier::health
