#include "daemon/flow_views.h"

#include <arpa/inet.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace julier::daemon {

FlowNames FlowNames::of(const plan::Plan& plan) {
    FlowNames names;
    for (const auto& s : plan.services) {
        protocol::ServiceFlows row;
        row.service = s.name;
        row.vip = s.key.vip.to_string();
        row.port = s.key.port;
        row.protocol = flows::protocol_text(s.key.protocol);
        names.services[s.id] = Service{s.name, row};
        names.service_order.push_back(s.id);
        for (const auto& b : s.backends) {
            names.backends[{s.id, b.id}] = protocol::BackendFlows{s.name, b.address.to_string(), b.role, 0};
        }
    }
    return names;
}

std::string FlowNames::service(std::uint32_t id) const {
    auto it = services.find(id);
    return it == services.end() ? std::string{} : it->second.name;
}

std::string FlowNames::backend(std::uint32_t service_id, std::uint32_t backend_id) const {
    auto it = backends.find({service_id, backend_id});
    return it == backends.end() ? std::string{} : it->second.backend;
}

std::variant<flows::Filter, std::string> flow_filter(const plan::Plan& plan, const std::string& service,
                                                     const std::string& backend) {
    flows::Filter filter;
    if (service.empty()) return filter;
    const auto* planned = plan.find(service);
    if (planned == nullptr) return fmt::format("no service '{}'", service);
    filter.service_id = planned->id;
    if (backend.empty()) return filter;
    const auto address = common::IpAddress::parse(backend);
    if (!address) return fmt::format("'{}' is not an IP address", backend);
    for (const auto& b : planned->backends) {
        if (b.address == *address) {
            filter.backend_id = b.id;
            return filter;
        }
    }
    return fmt::format("service '{}' has no backend {}", service, address->to_string());
}

protocol::FlowsResult flow_counts(const FlowNames& names, const flows::Census& census, std::uint32_t max_flows,
                                  const flows::Filter& filter) {
    protocol::FlowsResult out;
    out.entries = census.entries;
    out.max_flows = max_flows;
    for (const auto& [ids, n] : census.per_backend) {
        if (names.backends.find(ids) == names.backends.end()) out.unplanned += n;
    }
    for (auto id : names.service_order) {
        if (filter.service_id && *filter.service_id != id) continue;
        auto row = names.services.at(id).row;
        row.flows = census.of_service(id);
        out.services.push_back(std::move(row));
        for (auto it = names.backends.lower_bound({id, 0}); it != names.backends.end() && it->first.first == id; ++it) {
            if (filter.backend_id && *filter.backend_id != it->first.second) continue;
            auto b = it->second;
            b.flows = census.of_backend(id, it->first.second);
            out.backends.push_back(std::move(b));
        }
    }
    return out;
}

protocol::FlowInfo flow_info(const flows::FlowEntry& e, const FlowNames& names) {
    protocol::FlowInfo info;
    info.protocol = flows::protocol_text(e.key.proto);
    info.client = common::Endpoint{flows::key_source(e.key), ntohs(e.key.sport)}.to_string();
    info.vip = common::Endpoint{flows::key_destination(e.key), ntohs(e.key.dport)}.to_string();
    info.service = names.service(e.value.service_id);
    info.backend = names.backend(e.value.service_id, e.value.backend_id);
    if (e.value.idle_ns) info.idle_seconds = static_cast<std::int64_t>(*e.value.idle_ns / 1000000000u);
    info.state = e.value.state;
    return info;
}

std::size_t flow_info_bytes(const flows::FlowEntry& entry, const FlowNames& names) {
    return nlohmann::json(flow_info(entry, names))
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
               .size() +
           1;
}

protocol::WhichResult which_result(const dataplane::FlowPick& pick, const FlowNames& names) {
    protocol::WhichResult out;
    out.dataplane_generation = pick.generation;
    if (!pick.vip) {
        out.chosen_by = "none";
        return out;
    }
    const auto service_id = pick.vip->service_id;
    out.service = names.service(service_id);
    out.hash = pick.ring_hash;
    out.hash_input = std::string(config::to_string(plan::hash_mode_of(pick.vip->flags)));
    if (pick.entry) {
        out.entry_backend = names.backend(pick.entry->service_id, pick.entry->backend_id);
        if (out.entry_backend.empty()) out.entry_backend = fmt::format("id {}", pick.entry->backend_id);
        out.entry_kept = pick.entry_kept;
    }
    if (pick.ring_backend) out.ring_backend = names.backend(service_id, *pick.ring_backend);
    if (pick.backend) {
        out.backend = names.backend(service_id, *pick.backend);
        if (out.backend.empty()) out.backend = fmt::format("id {}", *pick.backend);
    }
    out.chosen_by = !pick.backend ? "none" : pick.entry_kept ? "entry" : "ring";
    return out;
}

}  // namespace julier::daemon
