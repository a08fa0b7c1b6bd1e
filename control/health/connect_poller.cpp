#include "health/connect_poller.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

namespace julier::health {

namespace asio = boost::asio;

std::shared_ptr<ConnectPoller> ConnectPoller::create(asio::io_context& io) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    return std::shared_ptr<ConnectPoller>(new ConnectPoller(io, fd));
}

ConnectPoller::ConnectPoller(asio::io_context& io, int epoll_fd) : epoll_(io, epoll_fd) {}

ConnectPoller::~ConnectPoller() = default;

boost::system::error_code ConnectPoller::watch(int fd, Done done) {
    auto index = static_cast<std::size_t>(fd);
    if (watches_.size() <= index) watches_.resize(index + 1);
    Watch& watch = watches_[index];
    watch.done = std::move(done);
    watch.generation = ++generation_;

    // One-shot: the first event is the outcome. The generation in the event data
    // tells a stale event (descriptor closed and reused) from a live one.
    epoll_event event{};
    event.events = EPOLLOUT | EPOLLONESHOT;
    event.data.u64 = (static_cast<std::uint64_t>(watch.generation) << 32) | static_cast<std::uint32_t>(fd);
    if (epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, fd, &event) != 0) {
        watch.done = nullptr;
        return boost::system::error_code(errno, boost::system::system_category());
    }
    ++active_;
    if (!waiting_) wait();
    return {};
}

void ConnectPoller::forget(int fd) {
    auto index = static_cast<std::size_t>(fd);
    if (index >= watches_.size() || !watches_[index].done) return;
    watches_[index].done = nullptr;
    --active_;
    // Closing the descriptor takes it out of the epoll set; until then a late
    // event is told apart by its generation.
    epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
}

void ConnectPoller::wait() {
    waiting_ = true;
    epoll_.async_wait(asio::posix::descriptor_base::wait_read,
                      [weak = weak_from_this()](const boost::system::error_code& error) {
                          auto self = weak.lock();
                          if (!self) return;
                          self->waiting_ = false;
                          if (error) return;
                          self->dispatch();
                          if (self->active_ > 0 && !self->waiting_) self->wait();
                      });
}

void ConnectPoller::dispatch() {
    std::array<epoll_event, 256> events;
    while (true) {
        int count = epoll_wait(epoll_.native_handle(), events.data(), static_cast<int>(events.size()), 0);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) return;
        for (int i = 0; i < count; ++i) {
            const epoll_event& event = events[static_cast<std::size_t>(i)];
            auto fd = static_cast<int>(event.data.u64 & 0xffffffffu);
            auto generation = static_cast<std::uint32_t>(event.data.u64 >> 32);
            auto index = static_cast<std::size_t>(fd);
            if (index >= watches_.size() || !watches_[index].done || watches_[index].generation != generation) continue;
            Done done = std::move(watches_[index].done);
            watches_[index].done = nullptr;
            --active_;

            boost::system::error_code outcome;
            if ((event.events & (EPOLLERR | EPOLLHUP)) != 0) {
                int error = 0;
                socklen_t length = sizeof error;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
                // HUP without a pending error: the peer reset before we looked.
                outcome = boost::system::error_code(error != 0 ? error : ECONNRESET, boost::system::system_category());
            }
            done(outcome);
        }
        if (count < static_cast<int>(events.size())) return;
    }
}

}  // namespace julier::health
