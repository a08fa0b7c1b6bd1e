#include "metrics/label_table.h"

#include <netinet/in.h>

#include <map>
#include <string_view>

namespace julier::metrics {

namespace {

std::string protocol_label(std::uint8_t protocol)
{
    switch (protocol) {
    case IPPROTO_TCP:
        return "tcp";
    case IPPROTO_UDP:
        return "udp";
    default:
        return std::to_string(protocol);
    }
}

plan::Health health_of(const plan::RuntimeState& runtime, const std::string& service,
                       const common::IpAddress& address)
{
    auto s = runtime.backends.find(service);
    if (s == runtime.backends.end())
        return plan::Health::unknown;
    auto b = s->second.find(address);
    return b == s->second.end() ? plan::Health::unknown : b->second.health;
}

}  // namespace

LabelTable make_label_table(const config::Catalogue& catalogue, const plan::Plan& plan,
                            const plan::RuntimeState& runtime)
{
    std::map<std::string_view, bool> checked;
    for (const auto& service : catalogue.services)
        checked[service.name] = service.health.kind != config::HealthKind::none;

    LabelTable table;
    table.services.reserve(plan.services.size());
    for (const auto& service : plan.services) {
        auto& labels = table.services.emplace_back();
        labels.id = service.id;
        labels.name = service.name;
        labels.vip = service.key.vip.to_string();
        labels.port = std::to_string(service.key.port);
        labels.protocol = protocol_label(service.key.protocol);

        // A service the catalogue does not name cannot be told unchecked: treat it as checked.
        auto c = checked.find(service.name);
        const bool is_checked = c == checked.end() || c->second;
        labels.backends.reserve(service.backends.size());
        for (const auto& backend : service.backends) {
            const auto health = health_of(runtime, service.name, backend.address);
            labels.backends.push_back(BackendLabels{
                .id = backend.id,
                .address = backend.address.to_string(),
                .up = health == plan::Health::up || (!is_checked && health != plan::Health::down),
                .draining = backend.role == plan::BackendRole::draining,
                .weight = backend.weight,
                .configured_weight = backend.configured_weight,
            });
        }
    }
    return table;
}

}  // namespace julier::metrics
