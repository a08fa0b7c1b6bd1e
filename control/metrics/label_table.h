// The names behind the forwarder's ids: what the metrics show for each service id
// and backend id of the live plan, plus the backend state gauges of that plan.
// Built once per applied plan and never changed afterwards, so a scrape can read it
// without locks while the daemon builds the next one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/catalogue.h"
#include "plan/plan.h"

namespace julier::metrics {

struct BackendLabels {
    std::uint32_t id = 0;             // index into the forwarder's backend counters
    std::string address;              // label "backend"
    bool up = false;                  // julier_backend_up
    bool draining = false;            // julier_backend_draining
    std::uint32_t weight = 0;         // julier_backend_weight (in the ring now)
    std::uint32_t configured_weight = 0;

    bool operator==(const BackendLabels&) const = default;
};

struct ServiceLabels {
    std::uint32_t id = 0;   // index into the forwarder's service counters
    std::string name;       // label "service"
    std::string vip;        // label "vip", canonical address text
    std::string port;       // label "port", decimal; "0" = every port
    std::string protocol;   // label "protocol": "tcp" | "udp"
    std::vector<BackendLabels> backends;

    bool operator==(const ServiceLabels&) const = default;
};

struct LabelTable {
    std::vector<ServiceLabels> services;

    bool operator==(const LabelTable&) const = default;
};

// The table for a plan just applied. `catalogue` is the one the plan was made from
// (it says which services are health checked); `runtime` the state it was made with.
// A backend counts as up when its check passed, or when its service has no check
// and nothing marked it down.
LabelTable make_label_table(const config::Catalogue& catalogue, const plan::Plan& plan,
                            const plan::RuntimeState& runtime);

}  // namespace julier::metrics
