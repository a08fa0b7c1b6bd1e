// http: an HTTP/1.1 GET of health.http.path; the backend passes when the status is
// one of expect_status and, if expect_body is set, the body contains it.
#pragma once

#include <boost/asio/io_context.hpp>

#include "health/probe.h"

namespace julier::health {

class HttpProbe final : public Probe {
public:
    explicit HttpProbe(boost::asio::io_context& io) : io_(io) {}

    config::HealthKind kind() const override { return config::HealthKind::http; }
    ProbeHandle async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                            ProbeCallback done) override;

private:
    boost::asio::io_context& io_;
};

}  // namespace julier::health
