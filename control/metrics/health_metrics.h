// Health probe metrics: how long probes take per service and check kind, and why
// they fail per backend. The health checker records each probe; a scrape reads what
// was recorded so far.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "metrics/label_table.h"
#include "metrics/probe_recorder.h"

namespace julier::metrics {

class HealthMetrics final : public ProbeRecorder, public prometheus::Collectable {
public:
    // Upper bounds (seconds) of the duration buckets: from a local TCP connect to an
    // exec check near its timeout.
    static constexpr std::array<double, 13> duration_bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                            0.25,  0.5,    1,     2.5,  5,     10};

    void record_probe(const ProbeOutcome& outcome) override;

    // Forgets the series of services and backends that `table` no longer names, so
    // removed backends disappear from the scrape (call it with each published table).
    void retain(const LabelTable& table);

    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    struct Durations {
        std::array<std::uint64_t, duration_bounds.size() + 1> counts{};  // last: above every bound
        double sum = 0;
    };
    using DurationKey = std::tuple<std::string, std::string>;              // service, kind
    using FailureKey = std::tuple<std::string, std::string, std::string>;  // service, backend, reason

    mutable std::mutex mutex_;
    std::map<DurationKey, Durations> durations_;
    std::map<FailureKey, std::uint64_t> failures_;
};

}  // namespace julier::metrics
