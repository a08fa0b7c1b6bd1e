// Catalogue + runtime state -> Plan: everything the forwarder's maps must hold for
// one generation, computed without I/O. The dataplane writes a Plan; the daemon
// shows it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ip.h"
#include "config/catalogue.h"
#include "julier/abi.h"
#include "health/state.h"
#include "neigh/resolver.h"
#include "plan/abi_values.h"
#include "plan/backend_state.h"
#include "plan/ids.h"
#include "plan/ring.h"

namespace julier::plan {

// A plan that cannot be built (limits exceeded). The message says which limit.
class PlanError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What the daemon knows about the backends beyond the catalogue.
struct RuntimeState {
    // The health checker's snapshot, by service name then backend address; a
    // backend missing here has no verdict yet (unknown, full weight).
    health::Snapshot health;
    // The operator's drains, undrains, weights and maint, by service name then
    // backend address.
    std::map<std::string, std::map<common::IpAddress, BackendOverride>> overrides;
    // Link-layer next hop per backend address (neigh::Resolver answers). A backend
    // without an answer here cannot be forwarded to and is reported unresolved.
    std::map<common::IpAddress, neigh::Resolution> next_hops;
};

// Every backend address the catalogue names, each once: what to resolve.
std::vector<common::IpAddress> backend_addresses(const config::Catalogue& catalogue);

struct PlannedBackend {
    std::uint32_t id = 0;
    common::IpAddress address;
    std::uint32_t configured_weight = 0;
    std::uint32_t weight = 0;      // in the ring now; 0 unless role == in_ring
    std::uint32_t set_weight = 0;  // the weight in force: the catalogue's or the operator's
    BackendRole role = BackendRole::down;
    // The verdict as decided (decide_backend): an unchecked backend is up.
    health::State health = health::State::unknown;
    // Who set set_weight, and whose word on the state (state, drain, maint) holds:
    // "config" or "operator".
    std::string weight_source;
    std::string state_source;
    // Where the drain came from when draining by state: "config" or "operator".
    std::string drain_source;
    jl_backend entry{};   // exactly what jl_backends holds for this id
    std::string problem;  // why it is unresolved (or an l2 backend behind a router)

    // Equal when the forwarder would not tell them apart: `health` is shown, not
    // written (a drained backend whose verdict changes needs no new generation).
    bool operator==(const PlannedBackend& other) const;
};

struct PlannedService {
    std::string name;
    std::uint32_t id = 0;
    ServiceKey key;
    // The jl_vips key and value. key.side and vip.ring_offset are the dataplane's
    // to fill (side by side, range by range); the planner leaves them 0.
    jl_vip_key vip_key{};
    jl_vip vip{};
    // Backend id of each ring slot; size == vip.ring_size (0 when it drops). Shared
    // with the previous plan when the ring's inputs did not change.
    Ring ring;
    std::vector<PlannedBackend> backends;  // catalogue order
    // when_all_down: keep engaged: no backend was usable, so the ring spreads over
    // every configured non-drained backend regardless of health.
    bool fail_open = false;

    bool operator==(const PlannedService&) const = default;
};

// jl_frag_vips: the service that takes fragments for a VIP address and protocol
// (fragments after the first carry no ports): the port-0 service if there is one,
// else the one with the lowest port.
struct FragVip {
    jl_vip_key key{};           // port 0, side 0 (the dataplane sets the side)
    std::uint32_t service = 0;  // index into Plan::services

    bool operator==(const FragVip&) const = default;
};

struct Plan {
    std::vector<PlannedService> services;  // catalogue order
    std::vector<FragVip> frag_vips;        // ordered by key bytes
    // jl_settings of the side: the catalogue's flood_protection.
    jl_settings settings{};
    IdAllocator ids;                                       // pass to the next make_plan
    std::uint32_t max_services = JL_DEFAULT_MAX_SERVICES;  // the catalogue's limits
    std::uint32_t max_backends = JL_DEFAULT_MAX_BACKENDS;
    std::uint32_t ring_capacity = JL_DEFAULT_RING_CAPACITY;

    const PlannedService* find(std::string_view service_name) const;
    // Every backend that cannot be forwarded to and why: "service web: backend
    // 198.18.0.9: did not answer ARP on eth0".
    std::vector<std::string> problems() const;

    bool operator==(const Plan&) const = default;
};

// Pure. `previous` carries the ids of the last plan (or IdAllocator::restore() of
// the running forwarder); ids of unchanged services and backends are kept. Throws
// PlanError when the catalogue exceeds its limits (services, backend ids, ring
// slots per side).
Plan make_plan(const config::Catalogue& catalogue, const RuntimeState& runtime, const IdAllocator& previous = {});

// The same, with the ids of `previous` (previous.ids), and reusing its rings: a
// service whose ring inputs are all equal to those of the previous plan's service
// of the same id (ring size; in catalogue order, each ring member's address, weight
// and backend id) gets that ring, shared, instead of a rebuilt one. The result
// equals make_plan(catalogue, runtime, previous.ids).
Plan make_plan(const config::Catalogue& catalogue, const RuntimeState& runtime, const Plan& previous);

// What changed between two plans, for logs and reload answers. Services are matched
// by id, backends by id.
struct PlanDiff {
    std::vector<std::string> added_services;  // names
    std::vector<std::string> removed_services;
    std::vector<std::string> changed_services;  // VIP settings, ring or backends
    struct BackendChange {
        std::string service;
        common::IpAddress address;
        enum class Kind { added, removed, changed } kind = Kind::changed;
        std::optional<BackendRole> old_role;  // unset when added
        std::optional<BackendRole> new_role;  // unset when removed
        std::uint32_t old_weight = 0;
        std::uint32_t new_weight = 0;
    };
    std::vector<BackendChange> backends;
    bool frag_vips_changed = false;
    // (old, new) flood_protection.new_flow_rate_per_cpu when it changed.
    std::optional<std::pair<std::uint32_t, std::uint32_t>> flood_new_flow_rate;

    bool empty() const;
};

PlanDiff diff(const Plan& old_plan, const Plan& new_plan);

// The jl_vip.flags bit of a service's `hash` (0 for the 5-tuple), and back.
std::uint16_t ring_hash_flag(config::HashMode hash);
config::HashMode hash_mode_of(std::uint16_t vip_flags);

}  // namespace julier::plan
