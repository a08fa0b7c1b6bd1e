// What to check, taken from the catalogue: one target per backend of a service.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/catalogue.h"

namespace julier::health {

struct Target {
    std::string service;
    common::IpAddress address;
    std::uint16_t port = 0;  // where probes go: health.port, else the service port
    config::HealthCheck check;

    bool operator==(const Target&) const = default;
};

// Every backend of every service, in catalogue order; kind none included (such a
// backend counts as up without probes).
std::vector<Target> health_targets(const config::Catalogue& catalogue);

}  // namespace julier::health
