#include "plan/plan.h"

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <cstring>
#include <set>

#include "common/invariant.h"
#include "maglev/maglev.h"

namespace julier::plan {

using config::BackendState;
using config::Catalogue;
using config::Forwarding;
using config::HealthKind;
using config::Service;
using config::WhenAllDown;

bool PlannedBackend::operator==(const PlannedBackend& o) const {
    return id == o.id && address == o.address && configured_weight == o.configured_weight && weight == o.weight &&
           set_weight == o.set_weight && role == o.role && weight_source == o.weight_source &&
           state_source == o.state_source && drain_source == o.drain_source && problem == o.problem &&
           std::memcmp(&entry, &o.entry, sizeof(entry)) == 0;
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
                result.push_back("service " + service.name + ": backend " + backend.address.to_string() + ": " +
                                 backend.problem);
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

std::uint8_t family_of(const common::IpAddress& address) { return address.is_v4() ? JL_FAMILY_V4 : JL_FAMILY_V6; }

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
    vip.flags = ring_hash_flag(service.hash);
    // Configuration makes every service of an address agree on it (config/validate.cpp),
    // so the address's jl_frag_vips entries, which the forwarder reads, carry it.
    if (service.answer_ping) vip.flags |= JL_VIP_F_ANSWER_PING;
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
    // The forwarder reads it for UDP flows only; TCP services keep 0.
    if (service.protocol == config::Protocol::udp)
        vip.udp_idle_timeout_ms = static_cast<std::uint32_t>(service.udp_idle_timeout.count());
    return vip;
}

// The run-time state of one service's backends, looked up once per service.
struct ServiceRuntime {
    const Service& service;
    const std::map<common::IpAddress, health::Verdict>& verdicts;
    const std::map<common::IpAddress, BackendOverride>& overrides;
    const std::map<common::IpAddress, neigh::Resolution>& next_hops;
};

// Hands the backend's verdict (with the rest of its facts) to decide_backend and
// writes the decision into the plan: role, ring weight and the jl_backends entry.
PlannedBackend plan_backend(const Catalogue& catalogue, const ServiceRuntime& runtime, const config::Backend& backend,
                            bool fail_open, std::uint32_t id, std::uint32_t service_id) {
    static const health::Verdict kNoVerdict;
    BackendFacts facts;
    auto verdict = runtime.verdicts.find(backend.address);
    facts.verdict = verdict == runtime.verdicts.end() ? kNoVerdict : verdict->second;
    facts.checked = runtime.service.health.kind != HealthKind::none;
    facts.configured = backend.state;
    auto override = runtime.overrides.find(backend.address);
    if (override != runtime.overrides.end()) facts.operator_override = override->second;
    facts.configured_weight = backend.weight;
    auto hop = runtime.next_hops.find(backend.address);
    facts.next_hop = hop == runtime.next_hops.end() ? nullptr : &hop->second;
    facts.l2 = runtime.service.forwarding == Forwarding::l2;
    facts.fail_open = fail_open;
    BackendDecision decision = decide_backend(facts);

    PlannedBackend out;
    out.id = id;
    out.address = backend.address;
    out.configured_weight = backend.weight;
    out.role = decision.role;
    out.health = decision.health;
    out.weight = decision.weight;
    out.set_weight = decision.set_weight;
    out.weight_source = std::move(decision.weight_source);
    out.state_source = std::move(decision.state_source);
    out.drain_source = std::move(decision.drain_source);
    out.problem = std::move(decision.problem);

    jl_backend& entry = out.entry;
    copy_address(backend.address, entry.addr);
    entry.service_id = service_id;
    entry.family = family_of(backend.address);
    if (!out.problem.empty()) {
        return out;  // no next hop to write (unresolved, or in maint without one)
    }
    const neigh::NextHop& next_hop = *facts.next_hop->next_hop;
    std::copy(next_hop.dst_mac.begin(), next_hop.dst_mac.end(), entry.dst_mac);
    std::copy(next_hop.src_mac.begin(), next_hop.src_mac.end(), entry.src_mac);
    // With one XDP interface that is also the egress device the forwarder answers
    // with XDP_TX; anything else is a redirect to the egress device.
    bool same_device = catalogue.interfaces.size() == 1 && catalogue.interfaces.front().name == next_hop.ifname;
    entry.ifindex = same_device ? 0 : next_hop.ifindex;
    if (out.role != BackendRole::down && out.role != BackendRole::maint) {
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
    std::size_t threads =
        std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()), pending.size() / kPerThread);
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

PlannedService plan_service(const Catalogue& catalogue, const Service& service, const RuntimeState& runtime,
                            const IdAllocator& ids, const std::map<std::uint32_t, const PlannedService*>& previous,
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
    static const std::map<common::IpAddress, health::Verdict> kNoVerdicts;
    static const std::map<common::IpAddress, BackendOverride> kNoOverrides;
    auto verdicts = runtime.health.find(service.name);
    auto overrides = runtime.overrides.find(service.name);
    const ServiceRuntime service_runtime{service, verdicts == runtime.health.end() ? kNoVerdicts : verdicts->second,
                                         overrides == runtime.overrides.end() ? kNoOverrides : overrides->second,
                                         runtime.next_hops};
    auto plan_backends = [&](bool fail_open) {
        out.backends.clear();
        for (const config::Backend& backend : service.backends) {
            out.backends.push_back(
                plan_backend(catalogue, service_runtime, backend, fail_open, backend_id(backend.address), out.id));
        }
        return std::any_of(out.backends.begin(), out.backends.end(),
                           [](const PlannedBackend& b) { return b.weight > 0; });
    };
    if (!plan_backends(false) && service.when_all_down == WhenAllDown::keep) {
        out.fail_open = plan_backends(true);
    }
    auto before = previous.find(out.id);
    ring_pending = !settle_ring(out, service.ring_size, before == previous.end() ? nullptr : before->second);
    return out;
}

// The catalogue was checked against its limits when it was read, with the rule in
// config/limits.h; checked again with that rule because a reload keeps the running
// limits (they change only on restart), which the new catalogue may exceed.
void check_limits(const Catalogue& catalogue) {
    const auto excess = config::exceeded(config::limit_use(catalogue), catalogue.limits);
    if (!excess.empty()) {
        throw PlanError("limits." + excess.front().key + ": " + excess.front().message);
    }
}

std::vector<FragVip> choose_frag_vips(const std::vector<PlannedService>& services, const Catalogue& catalogue) {
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
    for (const Service& service : catalogue.services) {
        ServiceKey key = service_key(service);
        service_keys.push_back(key);
        for (const config::Backend& backend : service.backends) {
            backend_keys.push_back(BackendKey{key, backend.address});
        }
    }

    Plan plan;
    plan.ids = previous;
    plan.ids.update(service_keys, catalogue.limits.max_services, backend_keys, catalogue.limits.max_backends);
    // The allocator keeps exactly the distinct keys: fewer ids than keys is a key
    // given twice, which the catalogue's checks refuse (config/validate.cpp).
    common::invariant(plan.ids.services().size() == service_keys.size(),
                      "two services with the same VIP, port and protocol reached the planner");
    common::invariant(plan.ids.backends().size() == backend_keys.size(),
                      "a backend listed twice in a service reached the planner");
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
        plan.services.push_back(
            plan_service(catalogue, catalogue.services[i], runtime, plan.ids, rings_before, pending));
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
    return added_services.empty() && removed_services.empty() && changed_services.empty() && backends.empty() &&
           !frag_vips_changed && !flood_new_flow_rate;
}

PlanDiff diff(const Plan& old_plan, const Plan& new_plan) {
    PlanDiff result;
    std::map<std::uint32_t, const PlannedService*> old_services;
    for (const PlannedService& service : old_plan.services) {
        old_services.emplace(service.id, &service);
    }
    std::set<std::uint32_t> new_ids;

    auto backend_changes = [&result](const std::string& service, const std::vector<PlannedBackend>* before,
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
                    result.backends.push_back(
                        {service, b.address, PlanDiff::BackendChange::Kind::added, std::nullopt, b.role, 0, b.weight});
                    continue;
                }
                const PlannedBackend& o = *it->second;
                if (!(o == b)) {
                    result.backends.push_back({service, b.address, PlanDiff::BackendChange::Kind::changed, o.role,
                                               b.role, o.weight, b.weight});
                }
                old_backends.erase(it);
            }
        }
        for (const auto& [id, o] : old_backends) {
            result.backends.push_back(
                {service, o->address, PlanDiff::BackendChange::Kind::removed, o->role, std::nullopt, o->weight, 0});
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
            view.emplace(std::vector<std::uint8_t>(bytes, bytes + sizeof(frag.key)), plan.services[frag.service].id);
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

std::uint16_t ring_hash_flag(config::HashMode hash) {
    switch (hash) {
        case config::HashMode::five_tuple: return 0;
        case config::HashMode::source: return JL_VIP_F_SOURCE_AFFINITY;
        case config::HashMode::no_source_port: return JL_VIP_F_HASH_NO_SOURCE_PORT;
        case config::HashMode::destination_port: return JL_VIP_F_HASH_DESTINATION_PORT;
    }
    return 0;
}

config::HashMode hash_mode_of(std::uint16_t vip_flags) {
    if (vip_flags & JL_VIP_F_SOURCE_AFFINITY) return config::HashMode::source;
    if (vip_flags & JL_VIP_F_HASH_NO_SOURCE_PORT) return config::HashMode::no_source_port;
    if (vip_flags & JL_VIP_F_HASH_DESTINATION_PORT) return config::HashMode::destination_port;
    return config::HashMode::five_tuple;
}

}  // namespace julier::plan
