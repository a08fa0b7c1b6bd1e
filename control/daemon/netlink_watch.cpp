#include "daemon/netlink_watch.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace julier::daemon {

namespace {

int open_socket() {
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "rtnetlink socket");
    int size = 1 << 20;  // a burst of neighbour updates must not overrun it easily
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = RTMGRP_LINK | RTMGRP_NEIGH;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
        int error = errno;
        ::close(fd);
        throw std::system_error(error, std::generic_category(), "rtnetlink bind to link and neighbour groups");
    }
    return fd;
}

}  // namespace

NetlinkWatch::NetlinkWatch(boost::asio::io_context& io, Handler handler)
    : socket_(io, open_socket()), handler_(std::move(handler)) {
    wait();
}

NetlinkWatch::~NetlinkWatch() { stop(); }

void NetlinkWatch::stop() {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    socket_.close(ignored);
}

void NetlinkWatch::wait() {
    socket_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec) return;  // cancelled: stopping
        drain();
        if (socket_.is_open()) wait();
    });
}

void NetlinkWatch::drain() {
    neigh::NetlinkEvents all;
    bool lost = false;
    for (;;) {
        const ssize_t n = ::recv(socket_.native_handle(), buffer_.data(), buffer_.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) {  // the kernel dropped notifications; later ones still come
                lost = true;
                continue;
            }
            break;  // EAGAIN: all read
        }
        auto events = neigh::decode_events(buffer_.data(), static_cast<std::size_t>(n));
        for (auto& l : events.links) all.links.push_back(std::move(l));
        for (auto& e : events.neighbours) all.neighbours.push_back(std::move(e));
    }
    if (lost || !all.links.empty() || !all.neighbours.empty()) handler_(all, lost);
}

}  // namespace julier::daemon
