#include "health/datagram_operation.h"

#include <cerrno>

#include "common/descriptors.h"

#include <boost/asio/error.hpp>

namespace julier::health {

namespace asio = boost::asio;
using asio::ip::udp;

DatagramOperation::DatagramOperation(asio::io_context& io, TimePoint deadline, ProbeCallback done,
                                     std::size_t reply_capacity, Phases phases)
    : ProbeOperation(io, deadline, std::move(done)), socket_(io), reply_(reply_capacity), phases_(phases) {}

void DatagramOperation::exchange(const ProbeTarget& target, asio::const_buffer request) {
    udp::endpoint endpoint(target.address, target.port);
    boost::system::error_code error;
    socket_.open(endpoint.protocol(), error);
    // Asio opens without close-on-exec: an exec check must not inherit it.
    if (!error && !common::set_close_on_exec(socket_.native_handle()))
        error.assign(errno, boost::system::system_category());
    if (!error) socket_.connect(endpoint, error);
    if (error) {
        finish_later(socket_failure(error, "preparing the socket"));
        return;
    }
    socket_.async_send(request,
                       [self = self<DatagramOperation>()](const boost::system::error_code& error, std::size_t) {
                           if (self->finished()) return;
                           if (error) return self->finish(socket_failure(error, self->phases_.sending));
                           self->set_phase(self->phases_.waiting);
                           self->receive();
                       });
}

void DatagramOperation::receive() {
    socket_.async_receive(asio::buffer(reply_), [self = self<DatagramOperation>()](
                                                    const boost::system::error_code& error, std::size_t size) {
        if (self->finished()) return;
        if (error == asio::error::connection_refused)
            return self->finish(Result::fail(Failure::refused, "connection refused (ICMP port unreachable)"));
        if (error) return self->finish(socket_failure(error, self->phases_.waiting));
        self->on_reply(std::span<const std::uint8_t>(self->reply_.data(), size));
    });
}

void DatagramOperation::stop_io() {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

}  // namespace julier::health
