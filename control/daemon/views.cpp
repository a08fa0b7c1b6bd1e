#include "daemon/views.h"

#include <algorithm>

namespace julier::daemon {
namespace {

template <typename T>
const T* at_or_null(const std::vector<T>& items, std::uint32_t index) {
    return index < items.size() ? &items[index] : nullptr;
}

}  // namespace

std::vector<protocol::ServiceInfo> service_infos(const config::Catalogue& catalogue, const plan::Plan& plan,
                                                 const dataplane::Counters* counters) {
    std::vector<protocol::ServiceInfo> out;
    for (const auto& service : catalogue.services) {
        protocol::ServiceInfo info;
        info.name = service.name;
        info.vip = service.vip.to_string();
        info.port = service.port;
        info.protocol = std::string(config::to_string(service.protocol));
        info.forwarding = std::string(config::to_string(service.forwarding));
        info.when_all_down = std::string(config::to_string(service.when_all_down));
        info.backends = service.backends.size();
        if (const auto* planned = plan.find(service.name)) {
            info.ring_size = planned->vip.ring_size;
            info.backends_in_ring = static_cast<std::uint64_t>(
                std::count_if(planned->backends.begin(), planned->backends.end(),
                              [](const auto& b) { return b.role == plan::BackendRole::in_ring; }));
            if (counters != nullptr) {
                if (const auto* traffic = at_or_null(counters->services, planned->id)) {
                    info.packets = traffic->packets;
                    info.bytes = traffic->bytes;
                    info.new_flows = traffic->new_flows;
                    info.nonsyn_miss = traffic->nonsyn_miss;
                }
            }
        }
        out.push_back(std::move(info));
    }
    return out;
}

std::vector<protocol::BackendInfo> backend_infos(const plan::Plan& plan, const health::Snapshot& health,
                                                 const dataplane::Counters* counters,
                                                 const std::optional<std::string>& service) {
    std::vector<protocol::BackendInfo> out;
    for (const auto& planned : plan.services) {
        if (service && planned.name != *service) continue;
        const auto verdicts = health.find(planned.name);
        for (const auto& backend : planned.backends) {
            protocol::BackendInfo info;
            info.service = planned.name;
            info.address = backend.address.to_string();
            info.weight = backend.set_weight;
            info.config_weight = backend.configured_weight;
            info.weight_source = backend.weight_source;
            info.state_source = backend.state_source;
            info.weight_now = backend.weight;
            info.health = backend.health;
            if (verdicts != health.end()) {
                if (auto v = verdicts->second.find(backend.address); v != verdicts->second.end()) {
                    info.health_reason = v->second.reason;
                }
            }
            info.state = backend.role;
            info.drain_source = backend.drain_source;
            info.problem = backend.problem;
            if (counters != nullptr) {
                if (const auto* traffic = at_or_null(counters->backends, backend.id)) {
                    info.packets = traffic->packets;
                    info.bytes = traffic->bytes;
                    info.new_flows = traffic->new_flows;
                }
            }
            out.push_back(std::move(info));
        }
    }
    return out;
}

std::vector<protocol::ChangeInfo> change_infos(const std::vector<plan::Change>& changes) {
    std::vector<protocol::ChangeInfo> out;
    out.reserve(changes.size());
    for (const auto& c : changes) {
        out.push_back(protocol::ChangeInfo{std::string(plan::to_string(c.kind)), c.service, c.backend, c.field, c.from,
                                           c.to, c.moved, c.old_size, c.new_size});
    }
    return out;
}

}  // namespace julier::daemon
