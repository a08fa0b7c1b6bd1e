// dns: ask the backend for health.dns.name / health.dns.type over UDP; it passes
// when it answers NOERROR (any number of records, truncated or not).
#pragma once

#include <random>

#include <boost/asio/io_context.hpp>

#include "health/probe.h"

namespace julier::health {

class DnsProbe final : public Probe {
public:
    explicit DnsProbe(boost::asio::io_context& io);

    config::HealthKind kind() const override { return config::HealthKind::dns; }
    ProbeHandle async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                            ProbeCallback done) override;

private:
    boost::asio::io_context& io_;
    std::mt19937 ids_;  // query ids: unpredictable enough that stray replies do not match
};

}  // namespace julier::health
