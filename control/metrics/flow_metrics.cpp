#include "metrics/flow_metrics.h"

#include <utility>

#include "metrics/family.h"
#include "metrics/metric_specs.h"

namespace julier::metrics {

void FlowMetrics::publish(FlowCensusReading reading) {
    auto shared = std::make_shared<const FlowCensusReading>(std::move(reading));
    std::lock_guard lock(mutex_);
    reading_ = std::move(shared);
}

void FlowMetrics::retain(std::shared_ptr<const LabelTable> table) {
    std::lock_guard lock(mutex_);
    table_ = std::move(table);
}

std::vector<prometheus::MetricFamily> FlowMetrics::Collect() const {
    std::shared_ptr<const FlowCensusReading> reading;
    std::shared_ptr<const LabelTable> table;
    {
        std::lock_guard lock(mutex_);
        reading = reading_;
        table = table_;
    }
    std::vector<prometheus::MetricFamily> out;
    auto service_flows = make_family(spec::service_flows);
    auto backend_flows = make_family(spec::backend_flows);
    if (!reading) {
        // No census yet: the families without samples.
        for (const auto* s :
             {&spec::service_flows, &spec::backend_flows, &spec::flow_table_entries, &spec::flow_table_max_entries,
              &spec::flow_table_fill_ratio, &spec::flow_census_duration, &spec::flow_census_timestamp})
            out.push_back(make_family(*s));
        return out;
    }
    const auto& census = reading->census;
    if (table) {
        for (const auto& s : table->services) {
            add_sample(service_flows, {{"service", s.name}, {"vip", s.vip}, {"port", s.port}, {"protocol", s.protocol}},
                       static_cast<double>(census.of_service(s.id)));
            for (const auto& b : s.backends) {
                add_sample(backend_flows, {{"service", s.name}, {"backend", b.address}},
                           static_cast<double>(census.of_backend(s.id, b.id)));
            }
        }
    }
    auto entries = make_family(spec::flow_table_entries);
    add_sample(entries, {}, static_cast<double>(census.entries));
    auto max = make_family(spec::flow_table_max_entries);
    add_sample(max, {}, reading->max_flows);
    auto fill = make_family(spec::flow_table_fill_ratio);
    add_sample(
        fill, {},
        reading->max_flows == 0 ? 0.0 : static_cast<double>(census.entries) / static_cast<double>(reading->max_flows));
    auto duration = make_family(spec::flow_census_duration);
    add_sample(duration, {}, reading->duration_seconds);
    auto time = make_family(spec::flow_census_timestamp);
    add_sample(time, {}, reading->unix_time);
    for (auto* f : {&service_flows, &backend_flows, &entries, &max, &fill, &duration, &time})
        out.push_back(std::move(*f));
    return out;
}

}  // namespace julier::metrics
