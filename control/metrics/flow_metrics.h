// The connection table's census: entries per service and backend, the table's fill
// and what the census cost, from the periodic walk julierd runs off its event loop
// (daemon/flows_run.cpp). Named at scrape time with the live plan's label table.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "flows/flow_table.h"
#include "metrics/label_table.h"

namespace julier::metrics {

struct FlowCensusReading {
    flows::Census census;
    std::uint32_t max_flows = 0;
    double duration_seconds = 0;  // the walk
    double unix_time = 0;         // when it ended
};

class FlowMetrics final : public prometheus::Collectable {
public:
    // Thread-safe; the last census replaces the one before.
    void publish(FlowCensusReading reading);
    void retain(std::shared_ptr<const LabelTable> table);

    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const FlowCensusReading> reading_;
    std::shared_ptr<const LabelTable> table_;
};

}  // namespace julier::metrics
