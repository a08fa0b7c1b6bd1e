#include "health/tcp_probe.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/ip/tcp.hpp>

#include "health/connect_poller.h"
#include "health/probe_operation.h"

namespace julier::health {

namespace asio = boost::asio;

namespace {

// A plain descriptor rather than an Asio socket: see connect_poller.h.
class TcpOperation final : public ProbeOperation {
public:
    TcpOperation(asio::io_context& io, TimePoint deadline, ProbeCallback done, std::shared_ptr<ConnectPoller> poller)
        : ProbeOperation(io, deadline, std::move(done)), poller_(std::move(poller)) {}

    ~TcpOperation() override { close_socket(); }

    void start(const ProbeTarget& target) {
        arm_deadline();
        set_phase("connecting");
        if (target.port == 0) {
            finish_later(Result::fail(Failure::config, "no port to check (set health.port)"));
            return;
        }
        asio::ip::tcp::endpoint endpoint(target.address, target.port);
        fd_ = socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd_ < 0) {
            finish_later(socket_failure(last_error(), "opening a socket"));
            return;
        }
        if (connect(fd_, endpoint.data(), static_cast<socklen_t>(endpoint.size())) == 0) {
            finish_later(Result::pass("connected"));
            return;
        }
        if (errno != EINPROGRESS) {
            finish_later(socket_failure(last_error(), ""));
            return;
        }
        auto watching = poller_->watch(
            fd_, [weak = std::weak_ptr<TcpOperation>(self<TcpOperation>())](const boost::system::error_code& error) {
                auto self = weak.lock();
                if (!self || self->finished()) return;
                self->finish(error ? socket_failure(error, "") : Result::pass("connected"));
            });
        if (watching) finish_later(socket_failure(watching, "watching the socket"));
    }

private:
    static boost::system::error_code last_error() { return {errno, boost::system::system_category()}; }

    void stop_io() override { close_socket(); }

    void close_socket() {
        if (fd_ < 0) return;
        poller_->forget(fd_);
        // Close with a reset: a checker that sends FIN first collects one TIME_WAIT
        // socket per probe (thousands per second), while the backend learns nothing
        // more from a graceful close.
        linger reset{1, 0};
        setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        close(fd_);
        fd_ = -1;
    }

    std::shared_ptr<ConnectPoller> poller_;
    int fd_ = -1;
};

}  // namespace

TcpProbe::TcpProbe(asio::io_context& io) : io_(io), poller_(ConnectPoller::create(io)) {}

TcpProbe::~TcpProbe() = default;

ProbeHandle TcpProbe::async_probe(const ProbeTarget& target, const config::HealthCheck&, TimePoint deadline,
                                  ProbeCallback done) {
    auto operation = std::make_shared<TcpOperation>(io_, deadline, std::move(done), poller_);
    operation->start(target);
    return ProbeHandle(operation);
}

}  // namespace julier::health
