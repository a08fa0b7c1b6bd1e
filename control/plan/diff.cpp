#include "plan/diff.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <type_traits>

#include <fmt/format.h>

#include "config/duration.h"

namespace julier::plan {
namespace {

using config::Service;
using Kind = Change::Kind;

Change make(Kind kind, std::string service = {}, std::string backend = {}, std::string field = {},
            std::string from = {}, std::string to = {}) {
    Change c;
    c.kind = kind;
    c.service = std::move(service);
    c.backend = std::move(backend);
    c.field = std::move(field);
    c.from = std::move(from);
    c.to = std::move(to);
    return c;
}

std::string yes_no(bool value) { return value ? "true" : "false"; }
std::string duration(config::Duration d) { return config::format_duration(d); }
std::string optional_address(const std::optional<common::IpAddress>& a) { return a ? a->to_string() : "none"; }

template <typename T>
std::string joined(const std::vector<T>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ' ';
        if constexpr (std::is_same_v<T, config::Community>) {
            out += item.text;
        } else {
            out += fmt::format("{}", item);
        }
    }
    return out.empty() ? "none" : out;
}

// The fields of a service an operator sets, by their catalogue key, as text.
struct ServiceField {
    const char* key;
    std::string (*text)(const Service&);
};

const ServiceField kServiceFields[] = {
    {"vip", [](const Service& s) { return service_endpoint(s); }},
    {"forwarding", [](const Service& s) { return std::string(config::to_string(s.forwarding)); }},
    {"ring_size", [](const Service& s) { return std::to_string(s.ring_size); }},
    {"hash", [](const Service& s) { return std::string(config::to_string(s.hash)); }},
    {"mtu", [](const Service& s) { return std::to_string(s.mtu); }},
    {"gue_port", [](const Service& s) { return std::to_string(s.gue_port); }},
    {"outer_ttl", [](const Service& s) { return std::to_string(s.outer_ttl); }},
    {"udp_idle_timeout", [](const Service& s) { return duration(s.udp_idle_timeout); }},
    {"encap_source.ipv4", [](const Service& s) { return optional_address(s.encap_source.ipv4); }},
    {"encap_source.ipv6", [](const Service& s) { return optional_address(s.encap_source.ipv6); }},
    {"encap_source.entropy_bits", [](const Service& s) { return std::to_string(s.encap_source.entropy_bits); }},
    {"when_all_down", [](const Service& s) { return std::string(config::to_string(s.when_all_down)); }},
    {"answer_ping", [](const Service& s) { return yes_no(s.answer_ping); }},
    {"health.kind", [](const Service& s) { return std::string(config::to_string(s.health.kind)); }},
    {"health.interval", [](const Service& s) { return duration(s.health.interval); }},
    {"health.timeout", [](const Service& s) { return duration(s.health.timeout); }},
    {"health.rise", [](const Service& s) { return std::to_string(s.health.rise); }},
    {"health.fall", [](const Service& s) { return std::to_string(s.health.fall); }},
    {"health.port", [](const Service& s) { return std::to_string(s.health.port); }},
    {"health.slow_start", [](const Service& s) { return duration(s.health.slow_start); }},
    {"health.http.path", [](const Service& s) { return s.health.http.path; }},
    {"health.http.host", [](const Service& s) { return s.health.http.host; }},
    {"health.http.expect_status", [](const Service& s) { return joined(s.health.http.expect_status); }},
    {"health.http.expect_body", [](const Service& s) { return s.health.http.expect_body; }},
    {"health.http.verify_tls", [](const Service& s) { return yes_no(s.health.http.verify_tls); }},
    {"health.http.sni", [](const Service& s) { return s.health.http.sni; }},
    {"health.udp.payload", [](const Service& s) { return s.health.udp.payload; }},
    {"health.udp.expect", [](const Service& s) { return s.health.udp.expect; }},
    {"health.dns.name", [](const Service& s) { return s.health.dns.name; }},
    {"health.dns.type", [](const Service& s) { return std::to_string(s.health.dns.type); }},
    {"health.exec.command", [](const Service& s) { return joined(s.health.exec.command); }},
    {"bgp.communities", [](const Service& s) { return joined(s.bgp.communities); }},
    {"bgp.med", [](const Service& s) { return s.bgp.med ? std::to_string(*s.bgp.med) : std::string("none"); }},
    {"bgp.min_healthy_backends", [](const Service& s) { return std::to_string(s.bgp.min_healthy_backends); }},
};

const config::Service* find_service(const config::Catalogue& c, const std::string& name) {
    for (const auto& s : c.services) {
        if (s.name == name) return &s;
    }
    return nullptr;
}

const PlannedBackend* find_backend(const PlannedService* s, const common::IpAddress& address) {
    if (s == nullptr) return nullptr;
    for (const auto& b : s->backends) {
        if (b.address == address) return &b;
    }
    return nullptr;
}

const config::Backend* find_backend(const config::Service& s, const common::IpAddress& address) {
    for (const auto& b : s.backends) {
        if (b.address == address) return &b;
    }
    return nullptr;
}

// "(pending)", "(active)": what the forwarder does with the backend in `plan`.
std::string role_text(const PlannedBackend* b) { return b ? fmt::format(" ({})", state_word(b->role)) : std::string(); }

void service_changes(const Side& running, const Side& candidate, const Service& before, const Service& after,
                     std::vector<Change>& out) {
    for (const auto& field : kServiceFields) {
        auto from = field.text(before);
        auto to = field.text(after);
        if (from != to) out.push_back(make(Kind::service_changed, after.name, {}, field.key, from, to));
    }
    const PlannedService* old_planned = running.plan.find(before.name);
    const PlannedService* new_planned = candidate.plan.find(after.name);

    for (const auto& b : after.backends) {
        const auto address = b.address.to_string();
        const auto* old_b = find_backend(before, b.address);
        const auto* new_role = find_backend(new_planned, b.address);
        if (old_b == nullptr) {
            out.push_back(make(Kind::backend_added, after.name, address, "", "",
                               fmt::format("weight {}{}", b.weight, role_text(new_role))));
            continue;
        }
        if (old_b->weight != b.weight) {
            out.push_back(make(Kind::backend_changed, after.name, address, "weight", std::to_string(old_b->weight),
                               std::to_string(b.weight)));
        }
        const auto* old_role = find_backend(old_planned, b.address);
        if (old_role && new_role && state_word(old_role->role) != state_word(new_role->role)) {
            out.push_back(make(Kind::backend_changed, after.name, address, "state",
                               std::string(state_word(old_role->role)), std::string(state_word(new_role->role))));
        } else if (old_b->state != b.state) {
            // Drained in the file but not (yet) in the forwarder's eyes, e.g. down anyway.
            out.push_back(make(Kind::backend_changed, after.name, address, "configured state",
                               std::string(config::to_string(old_b->state)), std::string(config::to_string(b.state))));
        }
    }
    for (const auto& b : before.backends) {
        if (find_backend(after, b.address) == nullptr) {
            out.push_back(make(Kind::backend_removed, after.name, b.address.to_string(), "", "", ""));
        }
    }

    if (old_planned == nullptr || new_planned == nullptr || old_planned->ring == new_planned->ring) return;
    const auto old_slots = ring_addresses(*old_planned);
    const auto new_slots = ring_addresses(*new_planned);
    // Backend ids may be reassigned: compare what the slots name.
    if (old_slots == new_slots) return;
    Change ring = make(Kind::ring_moved, after.name);
    ring.moved = moved_share(old_slots, new_slots);
    ring.old_size = static_cast<std::uint32_t>(old_slots.size());
    ring.new_size = static_cast<std::uint32_t>(new_slots.size());
    out.push_back(std::move(ring));
}

void setting_changes(const config::Catalogue& before, const config::Catalogue& after, std::vector<Change>& out) {
    for (const auto& i : after.interfaces) {
        auto old = std::find_if(before.interfaces.begin(), before.interfaces.end(),
                                [&](const config::Interface& o) { return o.name == i.name; });
        if (old == before.interfaces.end()) {
            out.push_back(make(Kind::interface_added, "", "", i.name));
        } else if (old->xdp_mode != i.xdp_mode) {
            out.push_back(make(Kind::setting_changed, "", "", fmt::format("interface {} xdp_mode", i.name),
                               std::string(config::to_string(old->xdp_mode)),
                               std::string(config::to_string(i.xdp_mode))));
        }
    }
    for (const auto& i : before.interfaces) {
        if (std::none_of(after.interfaces.begin(), after.interfaces.end(),
                         [&](const config::Interface& n) { return n.name == i.name; })) {
            out.push_back(make(Kind::interface_removed, "", "", i.name));
        }
    }
    const auto setting = [&](const char* key, std::string from, std::string to) {
        if (from != to) out.push_back(make(Kind::setting_changed, "", "", key, std::move(from), std::move(to)));
    };
    setting("flood_protection.new_flow_rate_per_cpu", std::to_string(before.flood_protection.new_flow_rate_per_cpu),
            std::to_string(after.flood_protection.new_flow_rate_per_cpu));
    setting("icmp_answers.rate_per_cpu", std::to_string(before.icmp_answers.rate_per_cpu),
            std::to_string(after.icmp_answers.rate_per_cpu));
    setting("bgp", before.bgp ? "on" : "off", after.bgp ? "on" : "off");
    if (before.bgp && after.bgp) {
        const auto& a = *before.bgp;
        const auto& b = *after.bgp;
        setting("bgp.hold_down", duration(a.hold_down), duration(b.hold_down));
        setting("bgp.teardown_grace", duration(a.teardown_grace), duration(b.teardown_grace));
        setting("bgp.bird_include", a.bird_include, b.bird_include);
        setting("bgp.bird_socket", a.bird_socket, b.bird_socket);
        const auto neighbours = [](const config::Bgp& bgp) {
            std::vector<std::string> out;
            for (const auto& n : bgp.neighbours) out.push_back(fmt::format("{}/{}", n.address.to_string(), n.as));
            return joined(out);
        };
        setting("bgp.neighbours", neighbours(a), neighbours(b));
    }
}

}  // namespace

std::string_view to_string(Change::Kind kind) {
    switch (kind) {
        case Kind::service_added: return "service_added";
        case Kind::service_removed: return "service_removed";
        case Kind::service_changed: return "service_changed";
        case Kind::backend_added: return "backend_added";
        case Kind::backend_removed: return "backend_removed";
        case Kind::backend_changed: return "backend_changed";
        case Kind::ring_moved: return "ring_moved";
        case Kind::vip_announced: return "vip_announced";
        case Kind::vip_withdrawn: return "vip_withdrawn";
        case Kind::interface_added: return "interface_added";
        case Kind::interface_removed: return "interface_removed";
        case Kind::setting_changed: return "setting_changed";
    }
    return "setting_changed";
}

std::string service_endpoint(const config::Service& s) {
    const std::string host = s.vip.is_v6() ? "[" + s.vip.to_string() + "]" : s.vip.to_string();
    return fmt::format("{}:{}/{}", host, s.port == 0 ? std::string("*") : std::to_string(s.port),
                       config::to_string(s.protocol));
}

std::vector<common::IpAddress> ring_addresses(const PlannedService& service) {
    std::map<std::uint32_t, common::IpAddress> by_id;
    for (const auto& b : service.backends) by_id.emplace(b.id, b.address);
    std::vector<common::IpAddress> out;
    out.reserve(service.ring.size());
    for (std::uint32_t id : service.ring) {
        auto it = by_id.find(id);
        out.push_back(it != by_id.end() ? it->second : common::IpAddress{});
    }
    return out;
}

double moved_share(const std::vector<common::IpAddress>& old_slots, const std::vector<common::IpAddress>& new_slots) {
    if (old_slots.empty() && new_slots.empty()) return 0.0;
    if (old_slots.empty() || new_slots.empty()) return 1.0;  // from or to dropping: every new flow changes
    if (old_slots.size() == new_slots.size()) {
        std::size_t moved = 0;
        for (std::size_t i = 0; i < old_slots.size(); ++i) moved += old_slots[i] != new_slots[i] ? 1 : 0;
        return static_cast<double>(moved) / static_cast<double>(old_slots.size());
    }
    std::map<common::IpAddress, std::size_t> old_count;
    std::map<common::IpAddress, std::size_t> new_count;
    for (const auto& a : old_slots) ++old_count[a];
    for (const auto& a : new_slots) ++new_count[a];
    double stays = 0.0;
    for (const auto& [address, count] : old_count) {
        auto it = new_count.find(address);
        if (it == new_count.end()) continue;
        stays += (static_cast<double>(count) / static_cast<double>(old_slots.size())) *
                 (static_cast<double>(it->second) / static_cast<double>(new_slots.size()));
    }
    return 1.0 - stays;
}

std::vector<Change> changes(const Side& running, const Side& candidate) {
    std::vector<Change> out;
    setting_changes(running.catalogue, candidate.catalogue, out);
    for (const auto& s : candidate.catalogue.services) {
        const auto* before = find_service(running.catalogue, s.name);
        if (before == nullptr) {
            out.push_back(make(Kind::service_added, s.name, "", "", "", service_endpoint(s)));
            const auto* planned = candidate.plan.find(s.name);
            for (const auto& b : s.backends) {
                out.push_back(make(Kind::backend_added, s.name, b.address.to_string(), "", "",
                                   fmt::format("weight {}{}", b.weight, role_text(find_backend(planned, b.address)))));
            }
            continue;
        }
        service_changes(running, candidate, *before, s, out);
    }
    for (const auto& s : running.catalogue.services) {
        if (find_service(candidate.catalogue, s.name) == nullptr) {
            out.push_back(make(Kind::service_removed, s.name, "", "", service_endpoint(s), {}));
        }
    }
    const std::set<common::IpAddress> before(running.announced.begin(), running.announced.end());
    const std::set<common::IpAddress> after(candidate.announced.begin(), candidate.announced.end());
    for (const auto& vip : after) {
        if (!before.contains(vip)) out.push_back(make(Kind::vip_announced, "", "", "", {}, vip.to_string()));
    }
    for (const auto& vip : before) {
        if (!after.contains(vip)) out.push_back(make(Kind::vip_withdrawn, "", "", "", vip.to_string(), {}));
    }
    return out;
}

}  // namespace julier::plan
