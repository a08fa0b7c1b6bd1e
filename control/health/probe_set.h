// One probe of each kind, made once and shared by every target of that kind.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "health/exec_probe.h"
#include "health/https_probe.h"
#include "health/probe.h"

namespace julier::health {

struct ProbeOptions {
    TlsOptions tls;
    ExecOptions exec;
};

class ProbeSet {
public:
    // Throws std::runtime_error when the TLS options cannot be used.
    explicit ProbeSet(boost::asio::io_context& io, ProbeOptions options = {});
    ~ProbeSet();

    // The probe for `kind`; nullptr for kind none.
    Probe* find(config::HealthKind kind) const;

private:
    std::unique_ptr<Probe> tcp_;
    std::unique_ptr<Probe> http_;
    std::unique_ptr<Probe> https_;
    std::unique_ptr<Probe> udp_;
    std::unique_ptr<Probe> dns_;
    std::unique_ptr<Probe> exec_;
};

}  // namespace julier::health
