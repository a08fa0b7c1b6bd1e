// What a reload changes, as the operator reads it: services, backends and
// settings added, removed or changed (field, old value, new value), the share of
// each service's ring that names another backend, and the VIPs announced or
// withdrawn. Pure: the running and the candidate catalogue, plan and announced
// VIPs in, a list of changes out. `julierctl reload --dry-run` shows it before the
// change, a real reload's answer after it.
//
// Services are matched by name, backends by address within their service; a
// service that keeps its name but moves to another VIP, port or protocol is one
// changed service (field "vip").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip.h"
#include "config/catalogue.h"
#include "plan/plan.h"

namespace julier::plan {

struct Change {
    enum class Kind {
        service_added,      // service, to: "198.18.0.100:443/tcp"
        service_removed,    // service, from: its VIP, port and protocol
        service_changed,    // service, field, from, to
        backend_added,      // service, backend, to: "weight 1 (pending)"
        backend_removed,    // service, backend
        backend_changed,    // service, backend, field ("weight" or "state"), from, to
        ring_moved,         // service, moved, old_size, new_size
        vip_announced,      // to: the VIP
        vip_withdrawn,      // from: the VIP
        interface_added,    // field: the interface name
        interface_removed,  // field: the interface name
        setting_changed,    // field (e.g. "flood_protection.new_flow_rate_per_cpu" or "interface eth0 xdp_mode"),
                            // from, to
    };
    Kind kind = Kind::service_changed;
    std::string service;
    std::string backend;  // address
    std::string field;
    std::string from;
    std::string to;
    // ring_moved: the share (0..1] of the service's new flows whose backend changes,
    // and the ring sizes before and after (0: the service drops new flows).
    double moved = 0;
    std::uint32_t old_size = 0;
    std::uint32_t new_size = 0;

    bool operator==(const Change&) const = default;
};

// The kind's word on the control protocol: "service_added", "ring_moved", ...
std::string_view to_string(Change::Kind kind);

// One side of the comparison: the catalogue, its plan, and the VIPs announced to
// BGP (empty without a `bgp:` section).
struct Side {
    const config::Catalogue& catalogue;
    const Plan& plan;
    std::vector<common::IpAddress> announced;
};

// Every change from `running` to `candidate`, in catalogue order (removals after
// what is still there), then the VIPs.
std::vector<Change> changes(const Side& running, const Side& candidate);

// The share of new flows whose backend differs between two rings: each slot names a
// backend address (`old_slots[i]`, `new_slots[i]`), an empty ring drops. For rings
// of one size, the share of slots that name another backend. A flow takes the slot
// `hash % size`; for rings of two different (prime) sizes the two slots of a hash are
// independent, so the share is 1 - sum over backends of old share x new share (every
// slot is re-mapped).
double moved_share(const std::vector<common::IpAddress>& old_slots, const std::vector<common::IpAddress>& new_slots);

// A service's ring as backend addresses, slot by slot.
std::vector<common::IpAddress> ring_addresses(const PlannedService& service);

// "198.18.0.100:443/tcp", "[2001:db8::1]:*/udp".
std::string service_endpoint(const config::Service& service);

}  // namespace julier::plan
