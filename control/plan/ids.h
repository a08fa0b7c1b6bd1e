// Stable service and backend ids. The forwarder's connection table remembers a
// flow's backend by id, so an id must keep naming the same backend for as long as
// that backend exists, across plans, reloads and daemon restarts.
#pragma once

#include <compare>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/ip.h"

namespace julier::plan {

// What identifies a service to the forwarder: the jl_vips key without the side.
// A renamed service keeps its id; a service moved to another VIP/port gets a new one.
struct ServiceKey {
    common::IpAddress vip;
    std::uint16_t port = 0;
    std::uint8_t protocol = 0;  // IPPROTO_TCP / IPPROTO_UDP

    auto operator<=>(const ServiceKey&) const = default;
};

// A backend is one address of one service (DSR: the port is the service's).
struct BackendKey {
    ServiceKey service;
    common::IpAddress address;

    auto operator<=>(const BackendKey&) const = default;
};

// Ids 0..capacity-1 of one kind. A released id goes to the back of a queue and is
// handed out again only when no never-used id is left, oldest release first, so a
// flow still pinned to a removed backend's id is unlikely to meet its successor.
class IdPool {
public:
    IdPool() = default;

    // nullopt when all `capacity` ids are in use.
    std::optional<std::uint32_t> take(std::uint32_t capacity);
    void release(std::uint32_t id);
    // Marks `id` used (restoring ids read back from a running forwarder).
    void reserve(std::uint32_t id);

    bool operator==(const IdPool&) const = default;

private:
    std::uint32_t next_ = 0;           // ids >= next_ were never handed out
    std::deque<std::uint32_t> freed_;  // released ids below next_, oldest first
};

// Keeps service key -> service id and backend key -> backend id. A plain value:
// make_plan() takes the previous allocator and returns the next one in the Plan.
class IdAllocator {
public:
    std::optional<std::uint32_t> service_id(const ServiceKey& key) const;
    std::optional<std::uint32_t> backend_id(const BackendKey& key) const;

    const std::map<ServiceKey, std::uint32_t>& services() const { return state().services; }
    const std::map<BackendKey, std::uint32_t>& backends() const { return state().backends; }

    // Keeps exactly the keys in `services` / `backends` (releasing every other id)
    // and assigns ids to new keys. Throws PlanError when a pool is exhausted. Ids at
    // or above a capacity (limits lowered) are reassigned.
    void update(const std::vector<ServiceKey>& services, std::uint32_t max_services,
                const std::vector<BackendKey>& backends, std::uint32_t max_backends);

    // Rebuilds an allocator from the ids a running forwarder holds (after the
    // daemon restarted and adopted pinned maps). Later ids never collide with these.
    static IdAllocator restore(const std::map<ServiceKey, std::uint32_t>& services,
                               const std::map<BackendKey, std::uint32_t>& backends);

    bool operator==(const IdAllocator& other) const { return state_ == other.state_ || state() == other.state(); }

private:
    struct State {
        std::map<ServiceKey, std::uint32_t> services;
        std::map<BackendKey, std::uint32_t> backends;
        IdPool service_pool;
        IdPool backend_pool;
        bool operator==(const State&) const = default;
    };
    const State& state() const;  // an empty State when state_ is null

    // Immutable and shared between copies (each plan holds the allocator it was
    // made with) until an update changes something: copying is a pointer copy.
    std::shared_ptr<const State> state_;
};

}  // namespace julier::plan
