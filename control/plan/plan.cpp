#include "plan/plan.h"

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <thread>
#include <cstring>
#include <set>

#include "maglev/maglev.h"

namespace julier::plan {

using config::BackendState;
using config::Catalogue;
using config::Forwarding;
using config::HealthKind;
using config::Service;
using config::WhenAllDown;

std::string_view to_string(Health health) {
    switch (health) {
    case Health::unknown: return "unknown";
    case Health::up: return "up";
    case Health::down: return "down";
    }
    return "?";
}

std::string_view to_string(BackendRole role) {
    switch (role) {
    case BackendRole::in_ring: return "in_ring";
    case BackendRole::draining: return "draining";
    case BackendRole::pending: return "pending";
    case BackendRole::down: return "down";
    case BackendRole::unresolved: return "unresolved";
    }
    return "?";
}

const BackendRuntime& RuntimeState::backend(const std::string& service,
                                            const common::IpAddress& address) const {
    static const BackendRuntime kDefault;
    auto s = backends.find(service);
    if (s == backends.end()) {
        return kDefault;
    }
    auto b = s->second.find(address);
    return b == s->second.end() ? kDefault : b->second;
}

std::vector<common::IpAddress> backend_addresses(const Catalogue& catalogue) {
    std::set<common::IpAddress> seen;
    std::vector<common::IpAddress> result;
    for (const Service& service : catalogue.services) {
        for (const config::Backend& backend : service.backends) {
            if (seen.insert(backend.address).second) {
                result.push_back(backend.address);
            }
        }
    }
    return result;
}

const PlannedService* Plan::find(std::string_view service_name) const {
    for (const PlannedService& service : services) {
        if (service.name == service_name) {
            return &service;
        }
    }
    return nullptr;
}

std::vector<std::string> Plan::problems() const {
    std::vector<std::string> result;
    for (const PlannedService& service : services) {
        for (const PlannedBackend& backend : service.backends) {
            if (!backend.problem.empty()) {
                result.push_back("service " + service.name + ": backend " +
                                 backend.address.to_string() + ": " + backend.problem);
            }
        }
    }
    return result;
}

namespace {

ServiceKey service_key(const Service& service) {
    return ServiceKey{service.vip, service.port, config::ip_protocol_number(service.protocol)};
}

void copy_address(const common::IpAddress& address, __u32 (&words)[4]) {
    static_assert(sizeof(words) == sizeof(address.bytes));
    std::memcpy(words, address.bytes.data(), sizeof(words));
}

std::uint8_t mode_of(Forwarding forwarding) {
    switch (forwarding) {
    case Forwarding::l2: return JL_MODE_L2;
    case Forwarding::ipip: return JL_MODE_IPIP;
    case Forwarding::ip6ip6: return JL_MODE_IP6IP6;
    case Forwarding::ip4in6: return JL_MODE_IP4IN6;
    case Forwarding::gue: return JL_MODE_GUE;
    }
    throw PlanError("unknown forwarding mode");
}

std::uint8_t family_of(const common::IpAddress& address) {
    return address.is_v4() ? JL_FAMILY_V4 : JL_FAMILY_V6;
}

jl_vip_key make_vip_key(const Service& service, std::uint16_t port) {
    jl_vip_key key{};
    copy_address(service.vip, key.addr);
    key.port = htons(port);
    key.proto = config::ip_protocol_number(service.protocol);
    key.family = family_of(service.vip);
    return key;
}

jl_vip make_vip(const Service& service, std::uint32_t service_id) {
    jl_vip vip{};
    vip.service_id = service_id;
    vip.flags = service.hash == config::HashMode::source ? JL_VIP_F_SOURCE_AFFINITY : 0;
    vip.mode = mode_of(service.forwarding);
    vip.outer_ttl = service.outer_ttl;
    vip.gue_port = htons(service.gue_port);
    vip.mtu = service.mtu;
    if (service.encap_source.ipv4) {
        std::memcpy(&vip.src4, service.encap_source.ipv4->bytes.data(), sizeof(vip.src4));
    }
    if (service.encap_source.ipv6) {
        copy_address(*service.encap_source.ipv6, vip.src6);
    }
    vip.src_entropy_bits = service.encap_source.entropy_bits;
    return vip;
}

// The configured weight scaled by the slow-start factor; never rounds a positive
// share down to nothing, so a backend in slow start takes at least one slot.
std::uint32_t scaled_weight(std::uint32_t configured, double factor) {
    if (configured == 0 || !(factor > 0.0)) {
        return 0;
    }
    if (factor >= 1.0) {
        return configured;
    }
    auto scaled = static_cast<std::uint32_t>(std::llround(configured * factor));
    return std::max<std::uint32_t>(scaled, 1);
}

struct BackendInputs {
    const config::Backend* config;
    const BackendRuntime* runtime;
    std::uint32_t id;
};

PlannedBackend plan_backend(const Catalogue& catalogue, const Service& service,
                            const RuntimeState& runtime, const BackendInputs& in,
                            std::uint32_t service_id) {
    PlannedBackend out;
    out.id = in.id;
    out.address = in.config->address;
    out.configured_weight = in.config->weight;

    jl_backend& entry = out.entry;
    copy_address(in.config->address, entry.addr);
    entry.service_id = service_id;
    entry.family = family_of(in.config->address);

    auto hop = runtime.next_hops.find(in.config->address);
    if (hop == runtime.next_hops.end()) {
        out.role = BackendRole::unresolved;
        out.problem = "next hop not resolved yet";
        return out;
    }
    if (!hop->second.ok()) {
        out.role = BackendRole::unresolved;
        out.problem = hop->second.error.empty() ? "next hop unresolvable" : hop->second.error;
        return out;
    }
    const neigh::NextHop& next_hop = *hop->second.next_hop;
    if (service.forwarding == Forwarding::l2 && next_hop.gateway) {
        // A MAC rewrite cannot cross a router: the frame would reach the router with
        // the VIP as destination and go nowhere useful.
        out.role = BackendRole::unresolved;
        out.problem = "forwarding l2 needs the backend on a directly connected network, "
                      "but the route goes via " +
                      next_hop.gateway->to_string() + " on " + next_hop.ifname;
        return out;
    }
    std::copy(next_hop.dst_mac.begin(), next_hop.dst_mac.end(), entry.dst_mac);
    std::copy(next_hop.src_mac.begin(), next_hop.src_mac.end(), entry.src_mac);
    // With one XDP interface that is also the egress device the forwarder answers
    // with XDP_TX; anything else is a redirect to the egress device.
    bool same_device = catalogue.interfaces.size() == 1 &&
                       catalogue.interfaces.front().name == next_hop.ifname;
    entry.ifindex = same_device ? 0 : next_hop.ifindex;

    BackendState state = in.runtime->state_override.value_or(in.config->state);
    Health health = in.runtime->health;
    bool unchecked = service.health.kind == HealthKind::none;
    if (health == Health::down) {
        out.role = BackendRole::down;
    } else if (state == BackendState::drain) {
        out.role = BackendRole::draining;
        out.drain_source = in.runtime->state_override ? "operator" : "config";
    } else if (health == Health::up || unchecked) {
        out.weight = scaled_weight(in.config->weight, in.runtime->weight_factor);
        out.role = out.weight > 0 ? BackendRole::in_ring : BackendRole::draining;
    } else {
        out.role = BackendRole::pending;
    }
    if (out.role != BackendRole::down) {
        entry.flags = JL_BACKEND_F_KEEP_FLOWS;
    }
    return out;
}

// Every input of a service's ring besides the Maglev constants: the ring size and,
// in catalogue order, each member's identity (address), weight and id (what the
// slots hold). Equal inputs give the same ring.
bool same_ring_inputs(const PlannedService& planned, std::uint32_t ring_size, const PlannedService& previous) {
    if (previous.vip.ring_size != ring_size) {
        return false;
    }
    auto member = [](const PlannedBackend& b) { return b.weight > 0; };
    auto a = planned.backends.begin();
    auto b = previous.backends.begin();
    for (;;) {
        a = std::find_if(a, planned.backends.end(), member);
        b = std::find_if(b, previous.backends.end(), member);
        if (a == planned.backends.end() || b == previous.backends.end()) {
            return a == planned.backends.end() && b == previous.backends.end();
        }
        if (a->id != b->id || a->weight != b->weight || !(a->address == b->address)) {
            return false;
        }
        ++a;
        ++b;
    }
}

// Sets the ring when it needs no Maglev table: empty (no member) or equal inputs to
// the previous plan's ring (shared). False when build_ring must make it.
bool settle_ring(PlannedService& planned, std::uint32_t ring_size, const PlannedService* previous) {
    bool any_member = std::any_of(planned.backends.begin(), planned.backends.end(),
                                  [](const PlannedBackend& b) { return b.weight > 0; });
    if (!any_member) {
        planned.vip.ring_size = 0;
        planned.ring = Ring{};
        return true;
    }
    planned.vip.ring_size = ring_size;
    if (previous && same_ring_inputs(planned, ring_size, *previous)) {
        planned.ring = previous->ring;  // shared, not copied
        return true;
    }
    return false;
}

void build_ring(PlannedService& planned) {
    std::vector<std::string> identities;  // keeps the string_views alive
    std::vector<const PlannedBackend*> members;
    for (const PlannedBackend& backend : planned.backends) {
        if (backend.weight > 0) {
            identities.push_back(backend.address.to_string());
            members.push_back(&backend);
        }
    }
    std::vector<maglev::Backend> table_input;
    for (std::size_t i = 0; i < members.size(); ++i) {
        table_input.push_back(maglev::Backend{identities[i], members[i]->weight});
    }
    std::vector<std::int32_t> table(planned.vip.ring_size);
    maglev::build_table(table_input, table);  // the thread's own TableBuilder
    std::vector<std::uint32_t> slots(table.size());
    for (std::size_t slot = 0; slot < table.size(); ++slot) {
        if (table[slot] == maglev::kEmptySlot) {
            throw PlanError("service " + planned.name + ": Maglev table has an empty slot");
        }
        slots[slot] = members[static_cast<std::size_t>(table[slot])]->id;
    }
    planned.ring = Ring(std::move(slots));
}

// Rings are independent and about 1 ms each at M = 65537: a plan that builds many
// (the first one, a reload of a new catalogue) spreads them over the CPUs.
void build_rings(const std::vector<PlannedService*>& pending) {
    constexpr std::size_t kPerThread = 16;  // fewer rings than this: not worth a thread
    std::size_t threads = std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()),
                                                pending.size() / kPerThread);
    if (threads <= 1) {
        for (PlannedService* service : pending) {
            build_ring(*service);
        }
        return;
    }
    std::atomic<std::size_t> next{0};
    std::vector<std::exception_ptr> errors(pending.size());
    auto work = [&] {
        for (std::size_t i = next++; i < pending.size(); i = next++) {
            try {
                build_ring(*pending[i]);
            } catch (...) {
                errors[i] = std::current_exception();
            }
        }
    };
    std::vector<std::thread> workers;
    for (std::size_t t = 1; t < threads; ++t) {
        workers.emplace_back(work);
    }
    work();
    for (std::thread& worker : workers) {
        worker.join();
    }
    for (const std::exception_ptr& error : errors) {
        if (error) {
            std::rethrow_exception(error);  // the first service's error, as without threads
        }
    }
}

PlannedService plan_service(const Catalogue& catalogue, const Service& service,
                            const RuntimeState& runtime, const IdAllocator& ids,
                            const std::map<std::uint32_t, const PlannedService*>& previous,
                            bool& ring_pending) {
    PlannedService out;
    out.name = service.name;
    out.key = service_key(service);
    out.id = *ids.service_id(out.key);
    out.vip_key = make_vip_key(service, service.port);
    out.vip = make_vip(service, out.id);

    // The service's backend keys are adjacent in the allocator's map, ordered by
    // address: one search for the service instead of one per backend.
    std::vector<std::pair<common::IpAddress, std::uint32_t>> backend_ids;
    for (auto it = ids.backends().lower_bound(BackendKey{out.key, common::IpAddress{}});
         it != ids.backends().end() && it->first.service == out.key; ++it) {
        backend_ids.emplace_back(it->first.address, it->second);
    }
    auto backend_id = [&backend_ids](const common::IpAddress& address) {
        auto it = std::lower_bound(backend_ids.begin(), backend_ids.end(), address,
                                   [](const auto& entry, const common::IpAddress& a) { return entry.first < a; });
        if (it == backend_ids.end() || !(it->first == address)) {
            throw PlanError("backend " + address.to_string() + " has no id");  // update() gave every one an id
        }
        return it->second;
    };
    static const BackendRuntime kDefaultRuntime;
    auto service_runtime = runtime.backends.find(service.name);  // once, not per backend
    auto backend_runtime = [&](const common::IpAddress& address) -> const BackendRuntime& {
        if (service_runtime == runtime.backends.end()) {
            return kDefaultRuntime;
        }
        auto it = service_runtime->second.find(address);
        return it == service_runtime->second.end() ? kDefaultRuntime : it->second;
    };
    for (const config::Backend& backend : service.backends) {
        BackendInputs in{&backend, &backend_runtime(backend.address), backend_id(backend.address)};
        out.backends.push_back(plan_backend(catalogue, service, runtime, in, out.id));
    }

    bool any_in_ring = std::any_of(out.backends.begin(), out.backends.end(),
                                   [](const PlannedBackend& b) { return b.weight > 0; });
    if (!any_in_ring && service.when_all_down == WhenAllDown::keep) {
        // Fail open: better some flows reach a backend that may be alive than none.
        for (std::size_t i = 0; i < out.backends.size(); ++i) {
            PlannedBackend& backend = out.backends[i];
            BackendState state =
                runtime.backend(service.name, backend.address).state_override.value_or(
                    service.backends[i].state);
            if (state == BackendState::drain || backend.role == BackendRole::unresolved ||
                backend.configured_weight == 0) {
                continue;
            }
            backend.weight = backend.configured_weight;
            backend.role = BackendRole::in_ring;
            backend.drain_source.clear();
            backend.entry.flags = JL_BACKEND_F_KEEP_FLOWS;
            out.fail_open = true;
        }
    }
    auto before = previous.find(out.id);
    ring_pending = !settle_ring(out, service.ring_size, before == previous.end() ? nullptr : before->second);
    return out;
}

void check_limits(const Catalogue& catalogue) {
    const config::Limits& limits = catalogue.limits;
    if (catalogue.services.size() > limits.max_services) {
        throw PlanError("the catalogue has " + std::to_string(catalogue.services.size()) +
                        " services but limits.max_services is " +
                        std::to_string(limits.max_services));
    }
    std::uint64_t backends = 0;
    std::uint64_t slots = 0;
    for (const Service& service : catalogue.services) {
        backends += service.backends.size();
        slots += service.ring_size;
    }
    if (backends > limits.max_backends) {
        throw PlanError("the catalogue has " + std::to_string(backends) +
                        " backends (over all services) but limits.max_backends is " +
                        std::to_string(limits.max_backends));
    }
    if (slots > limits.ring_capacity) {
        throw PlanError("the services' ring sizes add up to " + std::to_string(slots) +
                        " slots but limits.ring_capacity is " +
                        std::to_string(limits.ring_capacity));
    }
}

std::vector<FragVip> choose_frag_vips(const std::vector<PlannedService>& services,
                                      const Catalogue& catalogue) {
    // (address, protocol) -> index of the service with the lowest port; port 0 sorts first.
    std::map<std::pair<common::IpAddress, std::uint8_t>, std::size_t> chosen;
    for (std::size_t i = 0; i < services.size(); ++i) {
        auto group = std::make_pair(services[i].key.vip, services[i].key.protocol);
        auto [it, inserted] = chosen.emplace(group, i);
        if (!inserted && services[i].key.port < services[it->second].key.port) {
            it->second = i;
        }
    }
    std::vector<FragVip> result;
    for (const auto& [group, index] : chosen) {
        FragVip frag;
        frag.key = make_vip_key(catalogue.services[index], 0);
        frag.service = static_cast<std::uint32_t>(index);
        result.push_back(frag);
    }
    return result;
}

Plan make_plan_reusing(const Catalogue& catalogue, const RuntimeState& runtime, const IdAllocator& previous,
                       const Plan* previous_plan) {
    check_limits(catalogue);

    std::vector<ServiceKey> service_keys;
    std::vector<BackendKey> backend_keys;
    std::set<ServiceKey> seen_services;
    for (const Service& service : catalogue.services) {
        ServiceKey key = service_key(service);
        if (!seen_services.insert(key).second) {
            throw PlanError("service " + service.name + ": another service has the same " +
                            "VIP, port and protocol " + key.vip.to_string() + ":" +
                            std::to_string(key.port));
        }
        service_keys.push_back(key);
        std::set<common::IpAddress> seen_backends;
        for (const config::Backend& backend : service.backends) {
            if (!seen_backends.insert(backend.address).second) {
                throw PlanError("service " + service.name + ": backend " +
                                backend.address.to_string() + " is listed twice");
            }
            backend_keys.push_back(BackendKey{key, backend.address});
        }
    }

    Plan plan;
    plan.ids = previous;
    plan.ids.update(service_keys, catalogue.limits.max_services, backend_keys,
                    catalogue.limits.max_backends);
    plan.max_services = catalogue.limits.max_services;
    plan.max_backends = catalogue.limits.max_backends;
    plan.ring_capacity = catalogue.limits.ring_capacity;
    plan.settings.flood_new_flow_rate = catalogue.flood_protection.new_flow_rate_per_cpu;
    plan.settings.icmp_answer_rate = catalogue.icmp_answers.rate_per_cpu;

    std::map<std::uint32_t, const PlannedService*> rings_before;  // by service id
    if (previous_plan) {
        for (const PlannedService& service : previous_plan->services) {
            rings_before.emplace(service.id, &service);
        }
    }
    plan.services.reserve(catalogue.services.size());
    std::vector<bool> ring_pending(catalogue.services.size(), false);
    for (std::size_t i = 0; i < catalogue.services.size(); ++i) {
        bool pending = false;
        plan.services.push_back(plan_service(catalogue, catalogue.services[i], runtime, plan.ids, rings_before, pending));
        ring_pending[i] = pending;
    }
    std::vector<PlannedService*> pending;
    for (std::size_t i = 0; i < plan.services.size(); ++i) {
        if (ring_pending[i]) {
            pending.push_back(&plan.services[i]);
        }
    }
    build_rings(pending);
    plan.frag_vips = choose_frag_vips(plan.services, catalogue);
    return plan;
}

}  // namespace

Plan make_plan(const Catalogue& catalogue, const RuntimeState& runtime, const IdAllocator& previous) {
    return make_plan_reusing(catalogue, runtime, previous, nullptr);
}

Plan make_plan(const Catalogue& catalogue, const RuntimeState& runtime, const Plan& previous) {
    return make_plan_reusing(catalogue, runtime, previous.ids, &previous);
}

bool PlanDiff::empty() const {
    return added_services.empty() && removed_services.empty() && changed_services.empty() &&
           backends.empty() && !frag_vips_changed && !flood_new_flow_rate;
}

PlanDiff diff(const Plan& old_plan, const Plan& new_plan) {
    PlanDiff result;
    std::map<std::uint32_t, const PlannedService*> old_services;
    for (const PlannedService& service : old_plan.services) {
        old_services.emplace(service.id, &service);
    }
    std::set<std::uint32_t> new_ids;

    auto backend_changes = [&result](const std::string& service,
                                     const std::vector<PlannedBackend>* before,
                                     const std::vector<PlannedBackend>* after) {
        std::map<std::uint32_t, const PlannedBackend*> old_backends;
        if (before) {
            for (const PlannedBackend& b : *before) {
                old_backends.emplace(b.id, &b);
            }
        }
        if (after) {
            for (const PlannedBackend& b : *after) {
                auto it = old_backends.find(b.id);
                if (it == old_backends.end()) {
                    result.backends.push_back({service, b.address, PlanDiff::BackendChange::Kind::added,
                                               std::nullopt, b.role, 0, b.weight});
                    continue;
                }
                const PlannedBackend& o = *it->second;
                if (!(o == b)) {
                    result.backends.push_back({service, b.address,
                                               PlanDiff::BackendChange::Kind::changed, o.role,
                                               b.role, o.weight, b.weight});
                }
                old_backends.erase(it);
            }
        }
        for (const auto& [id, o] : old_backends) {
            result.backends.push_back({service, o->address, PlanDiff::BackendChange::Kind::removed,
                                       o->role, std::nullopt, o->weight, 0});
        }
    };

    for (const PlannedService& service : new_plan.services) {
        new_ids.insert(service.id);
        auto it = old_services.find(service.id);
        if (it == old_services.end()) {
            result.added_services.push_back(service.name);
            backend_changes(service.name, nullptr, &service.backends);
            continue;
        }
        const PlannedService& old_service = *it->second;
        if (!(old_service == service)) {
            result.changed_services.push_back(service.name);
            backend_changes(service.name, &old_service.backends, &service.backends);
        }
    }
    for (const PlannedService& service : old_plan.services) {
        if (!new_ids.contains(service.id)) {
            result.removed_services.push_back(service.name);
            backend_changes(service.name, &service.backends, nullptr);
        }
    }

    // Compare what jl_frag_vips would hold: key -> service id.
    auto frag_view = [](const Plan& plan) {
        std::map<std::vector<std::uint8_t>, std::uint32_t> view;
        for (const FragVip& frag : plan.frag_vips) {
            const auto* bytes = reinterpret_cast<const std::uint8_t*>(&frag.key);
            view.emplace(std::vector<std::uint8_t>(bytes, bytes + sizeof(frag.key)),
                         plan.services[frag.service].id);
        }
        return view;
    };
    result.frag_vips_changed = frag_view(old_plan) != frag_view(new_plan);
    if (old_plan.settings.flood_new_flow_rate != new_plan.settings.flood_new_flow_rate) {
        result.flood_new_flow_rate.emplace(old_plan.settings.flood_new_flow_rate,
                                           new_plan.settings.flood_new_flow_rate);
    }
    return result;
}

}  // namespace julier::plan
