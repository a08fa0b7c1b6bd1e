// The one interface every kind of health check implements (tcp, http, https, udp,
// dns, exec): start a probe of one target, get exactly one Result back.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <boost/asio/ip/address.hpp>

#include "config/catalogue.h"
#include "health/backend_health.h"
#include "health/result.h"

namespace julier::health {

struct ProbeTarget {
    boost::asio::ip::address address;
    std::uint16_t port = 0;  // the port to check; 0 = none configured (a config failure)
};

using ProbeCallback = std::function<void(Result)>;

// A probe in flight. The probe's own asynchronous operations keep it alive; a
// ProbeHandle only observes it.
class Operation {
public:
    virtual ~Operation() = default;
    // Ends the probe now and releases its sockets or process; its callback is then
    // never called.
    virtual void cancel() = 0;
};

class ProbeHandle {
public:
    ProbeHandle() = default;
    explicit ProbeHandle(std::weak_ptr<Operation> operation) : operation_(std::move(operation)) {}

    // No effect once the probe has finished.
    void cancel();

private:
    std::weak_ptr<Operation> operation_;
};

class Probe {
public:
    virtual ~Probe() = default;

    virtual config::HealthKind kind() const = 0;

    // Starts one probe of `target` as `check` describes. `done` is called exactly
    // once (unless the probe is cancelled), never from inside async_probe, always
    // from the io_context the probe was made with, and no later than shortly after
    // `deadline`. Single-threaded: call from the io_context's thread.
    virtual ProbeHandle async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                                    ProbeCallback done) = 0;
};

}  // namespace julier::health
