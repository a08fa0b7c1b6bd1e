// tcp: the backend passes when a TCP connection to the check port is established.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "health/probe.h"

namespace julier::health {

class ConnectPoller;

class TcpProbe final : public Probe {
public:
    explicit TcpProbe(boost::asio::io_context& io);
    ~TcpProbe() override;

    config::HealthKind kind() const override { return config::HealthKind::tcp; }
    ProbeHandle async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                            ProbeCallback done) override;

private:
    boost::asio::io_context& io_;
    std::shared_ptr<ConnectPoller> poller_;  // shared with probes in flight
};

}  // namespace julier::health
