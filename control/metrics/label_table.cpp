#include "metrics/label_table.h"

#include <netinet/in.h>

namespace julier::metrics {

namespace {

std::string protocol_label(std::uint8_t protocol) {
    switch (protocol) {
        case IPPROTO_TCP: return "tcp";
        case IPPROTO_UDP: return "udp";
        default: return std::to_string(protocol);
    }
}

}  // namespace

LabelTable make_label_table(const plan::Plan& plan) {
    LabelTable table;
    table.services.reserve(plan.services.size());
    for (const auto& service : plan.services) {
        auto& labels = table.services.emplace_back();
        labels.id = service.id;
        labels.name = service.name;
        labels.vip = service.key.vip.to_string();
        labels.port = std::to_string(service.key.port);
        labels.protocol = protocol_label(service.key.protocol);

        labels.backends.reserve(service.backends.size());
        for (const auto& backend : service.backends) {
            labels.backends.push_back(BackendLabels{
                .id = backend.id,
                .address = backend.address.to_string(),
                .up = backend.health == health::State::up,
                .draining = backend.role == plan::BackendRole::draining,
                .maint = backend.role == plan::BackendRole::maint,
                .weight = backend.weight,
                .configured_weight = backend.configured_weight,
            });
        }
    }
    return table;
}

}  // namespace julier::metrics
