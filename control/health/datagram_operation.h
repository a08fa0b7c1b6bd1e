// A probe that is one UDP request and the answers to it (udp and dns checks).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/udp.hpp>

#include "health/probe_operation.h"

namespace julier::health {

class DatagramOperation : public ProbeOperation {
protected:
    // What the probe is doing, for timeout reasons and socket errors.
    struct Phases {
        std::string_view sending;
        std::string_view waiting;
    };

    DatagramOperation(boost::asio::io_context& io, TimePoint deadline, ProbeCallback done, std::size_t reply_capacity,
                      Phases phases);

    // Sends `request` (which must outlive the probe) on a socket connected to the
    // target, then hands each datagram received to on_reply().
    // Connected: only the backend's datagrams arrive, and an ICMP port unreachable
    // is reported as refused.
    void exchange(const ProbeTarget& target, boost::asio::const_buffer request);
    // Waits for the next datagram (on_reply() calls it to skip one that is not the answer).
    void receive();
    virtual void on_reply(std::span<const std::uint8_t> reply) = 0;

    void stop_io() override;

private:
    boost::asio::ip::udp::socket socket_;
    std::vector<std::uint8_t> reply_;
    Phases phases_;
};

}  // namespace julier::health
