#include "metrics/metrics.h"

#include <utility>

#include <prometheus/text_serializer.h>

namespace julier::metrics {

Metrics::Metrics(ForwarderReader reader)
    : forwarder_(std::make_shared<ForwarderCollector>(std::move(reader))),
      health_(std::make_shared<HealthMetrics>()),
      lifecycle_(std::make_shared<LifecycleMetrics>()),
      fleet_(std::make_shared<FleetMetrics>()),
      flows_(std::make_shared<FlowMetrics>()) {}

void Metrics::set_forwarder_reader(ForwarderReader reader) { forwarder_->set_reader(std::move(reader)); }

void Metrics::publish(LabelTable table) {
    auto shared = std::make_shared<const LabelTable>(std::move(table));
    health_->retain(*shared);
    flows_->retain(shared);
    forwarder_->publish(std::move(shared));
}

std::string Metrics::render() const {
    std::vector<prometheus::MetricFamily> families;
    for (const auto& collectable : collectables()) {
        auto collected = collectable.lock()->Collect();
        families.insert(families.end(), std::make_move_iterator(collected.begin()),
                        std::make_move_iterator(collected.end()));
    }
    return prometheus::TextSerializer().Serialize(families);
}

std::vector<std::weak_ptr<prometheus::Collectable>> Metrics::collectables() const {
    return {lifecycle_, forwarder_, health_, fleet_, flows_};
}

}  // namespace julier::metrics
