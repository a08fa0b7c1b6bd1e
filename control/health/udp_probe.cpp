#include "health/udp_probe.h"

#include <algorithm>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/udp.hpp>

#include "health/http_check.h"
#include "health/probe_operation.h"

namespace julier::health {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr std::size_t kMinReplyBuffer = 2048;  // enough to see any expected prefix

class UdpOperation final : public ProbeOperation {
public:
    UdpOperation(asio::io_context& io, TimePoint deadline, ProbeCallback done, const config::UdpCheck& check)
        : ProbeOperation(io, deadline, std::move(done)),
          socket_(io),
          payload_(check.payload),
          expect_(check.expect),
          reply_(std::max(kMinReplyBuffer, check.expect.size()))
    {
    }

    void start(const ProbeTarget& target)
    {
        arm_deadline();
        set_phase("sending");
        if (target.port == 0) {
            finish_later(Result::fail(Failure::config, "no port to check (set health.port)"));
            return;
        }
        udp::endpoint endpoint(target.address, target.port);
        boost::system::error_code error;
        socket_.open(endpoint.protocol(), error);
        // A connected socket accepts replies from the backend only, and is told
        // about ICMP port unreachable.
        if (!error) socket_.connect(endpoint, error);
        if (error) {
            finish_later(socket_failure(error, "preparing the socket"));
            return;
        }
        socket_.async_send(asio::buffer(payload_), [self = self<UdpOperation>()](const boost::system::error_code& error, std::size_t) {
            if (self->finished()) return;
            if (error) return self->finish(socket_failure(error, "sending"));
            self->set_phase("waiting for a reply");
            self->receive();
        });
    }

private:
    void receive()
    {
        socket_.async_receive(asio::buffer(reply_), [self = self<UdpOperation>()](const boost::system::error_code& error, std::size_t size) {
            if (self->finished()) return;
            if (error == asio::error::connection_refused)
                return self->finish(Result::fail(Failure::refused, "connection refused (ICMP port unreachable)"));
            if (error) return self->finish(socket_failure(error, "waiting for a reply"));
            std::string_view reply(self->reply_.data(), size);
            if (reply.substr(0, self->expect_.size()) == self->expect_)
                return self->finish(Result::pass("reply of " + std::to_string(size) + " bytes"));
            self->finish(Result::fail(Failure::body, "reply " + quoted(reply.substr(0, 32)) + " does not start with " +
                                                         quoted(self->expect_)));
        });
    }

    void stop_io() override
    {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    udp::socket socket_;
    std::string payload_;
    std::string expect_;
    std::vector<char> reply_;
};

}  // namespace

ProbeHandle UdpProbe::async_probe(const ProbeTarget& target, const config::HealthCheck& check,
                                  TimePoint deadline, ProbeCallback done)
{
    auto operation = std::make_shared<UdpOperation>(io_, deadline, std::move(done), check.udp);
    operation->start(target);
    return ProbeHandle(operation);
}

}  // namespace julier::health
