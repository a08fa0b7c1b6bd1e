// The daemon's view of the health checker: which backends to check, what each one's
// health and slow-start factor is now, and a callback per transition. Keeps the
// daemon independent of how the checker schedules its probes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/ip.h"
#include "config/catalogue.h"
#include "metrics/probe_recorder.h"
#include "plan/plan.h"

namespace julier::health {
class Manager;
}

namespace julier::daemon {

struct HealthTransition {
    std::string service;
    common::IpAddress address;
    plan::Health from = plan::Health::unknown;
    plan::Health to = plan::Health::unknown;
    std::string reason;
};

struct HealthView {
    plan::Health health = plan::Health::unknown;
    double weight_factor = 1.0;  // slow start share, 0..1
    std::string reason;          // of the last transition
};

class HealthLink {
public:
    using OnTransition = std::function<void(const HealthTransition&)>;
    // A slow-start ramp stepped: weights changed without a transition.
    using OnWeight = std::function<void()>;

    // Throws std::runtime_error when the checker cannot be set up.
    // Every probe's duration and failure class also go to `probes` (the metrics).
    HealthLink(boost::asio::io_context& io, OnTransition on_transition, OnWeight on_weight,
               metrics::ProbeRecorder& probes);
    ~HealthLink();
    HealthLink(const HealthLink&) = delete;
    HealthLink& operator=(const HealthLink&) = delete;

    // Checks exactly the backends of `catalogue` (kind `none` excepted); backends
    // that remain keep their state.
    void set_targets(const config::Catalogue& catalogue);
    HealthView view(const std::string& service, const common::IpAddress& address) const;
    // Cancels every probe; no callback runs afterwards.
    void stop();

private:
    std::unique_ptr<health::Manager> manager_;
};

}  // namespace julier::daemon
