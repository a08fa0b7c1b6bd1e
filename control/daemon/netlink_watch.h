// Kernel notifications of link and neighbour changes, delivered on the daemon's
// event loop: an interface deleted and created again, a backend's MAC that
// changed. A notification the kernel had to drop (socket overrun) is reported as
// `lost`, so the daemon re-checks everything instead of trusting the stream.
#pragma once

#include <array>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "neigh/events.h"

namespace julier::daemon {

class NetlinkWatch {
public:
    using Handler = std::function<void(const neigh::NetlinkEvents& events, bool lost)>;

    // Throws std::system_error when the socket cannot be opened or bound.
    NetlinkWatch(boost::asio::io_context& io, Handler handler);
    ~NetlinkWatch();
    NetlinkWatch(const NetlinkWatch&) = delete;
    NetlinkWatch& operator=(const NetlinkWatch&) = delete;

    void stop();

private:
    void wait();
    void drain();

    boost::asio::posix::stream_descriptor socket_;
    Handler handler_;
    alignas(8) std::array<char, 64 * 1024> buffer_{};
};

}  // namespace julier::daemon
