// udp: send health.udp.payload in one datagram; the backend passes when a reply
// arrives (and starts with health.udp.expect, if set). An ICMP port unreachable
// fails the check at once as "connection refused".
#pragma once

#include <boost/asio/io_context.hpp>

#include "health/probe.h"

namespace julier::health {

class UdpProbe final : public Probe {
public:
    explicit UdpProbe(boost::asio::io_context& io) : io_(io) {}

    config::HealthKind kind() const override { return config::HealthKind::udp; }
    ProbeHandle async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                            ProbeCallback done) override;

private:
    boost::asio::io_context& io_;
};

}  // namespace julier::health
