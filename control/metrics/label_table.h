// The names behind the forwarder's ids: what the metrics show for each service id
// and backend id of the live plan, plus the backend state gauges of that plan.
// Built once per applied plan and never changed afterwards, so a scrape can read it
// without locks while the daemon builds the next one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.h"

namespace julier::metrics {

struct BackendLabels {
    std::uint32_t id = 0;      // index into the forwarder's backend counters
    std::string address;       // label "backend"
    bool up = false;           // julier_backend_up: the decided health is up
    bool draining = false;     // julier_backend_draining
    bool maint = false;        // julier_backend_maint
    std::uint32_t weight = 0;  // julier_backend_weight (in the ring now)
    std::uint32_t configured_weight = 0;

    bool operator==(const BackendLabels&) const = default;
};

struct ServiceLabels {
    std::uint32_t id = 0;  // index into the forwarder's service counters
    std::string name;      // label "service"
    std::string vip;       // label "vip", canonical address text
    std::string port;      // label "port", decimal; "0" = every port
    std::string protocol;  // label "protocol": "tcp" | "udp"
    std::vector<BackendLabels> backends;

    bool operator==(const ServiceLabels&) const = default;
};

struct LabelTable {
    std::vector<ServiceLabels> services;

    bool operator==(const LabelTable&) const = default;
};

// The table for a plan just applied: up and draining are the plan's decision
// (plan::decide_backend), so metrics, julierctl and the plan agree.
LabelTable make_label_table(const plan::Plan& plan);

}  // namespace julier::metrics
