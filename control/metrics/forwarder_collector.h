// Forwarder traffic and backend state, computed at scrape time: the counters come
// straight from the per-CPU BPF maps through a reader, the names from the label
// table of the live plan. Nothing is polled or copied between scrapes, and a
// service or backend that left the plan is simply absent from the next scrape.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "dataplane/dataplane.h"
#include "metrics/label_table.h"

namespace julier::metrics {

struct ForwarderReading {
    dataplane::Counters counters;  // Dataplane::read_counters()
    std::uint32_t generation = 0;  // Dataplane::generation()
};

// Runs where the scrape runs (in julierd, on its loop), never two at once, while other
// threads go on with their work: it must only read (Dataplane::read_counters() and
// generation() are safe there). It may throw; that scrape then lacks the traffic series and counts
// julier_forwarder_read_errors_total.
using ForwarderReader = std::function<ForwarderReading()>;

class ForwarderCollector final : public prometheus::Collectable {
public:
    // An empty reader means no forwarder yet: only the label table's gauges appear.
    explicit ForwarderCollector(ForwarderReader reader = {});

    // Replaces the reader. Waits for a reading in progress, so whatever the old
    // reader used may be destroyed once this returns.
    void set_reader(ForwarderReader reader);

    // Makes `table` the one scrapes use from now on. The table must not change
    // afterwards (scrapes keep reading it without a lock); publish a new one instead.
    void publish(std::shared_ptr<const LabelTable> table);
    std::shared_ptr<const LabelTable> label_table() const;

    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    std::optional<ForwarderReading> read() const;

    mutable std::mutex table_mutex_;  // guards table_ (the pointer, not the table)
    std::shared_ptr<const LabelTable> table_;

    mutable std::mutex read_mutex_;  // one reading at a time; guards the members below
    ForwarderReader reader_;
    mutable std::uint64_t read_errors_ = 0;
    mutable std::string last_error_;  // logged once per distinct message
};

}  // namespace julier::metrics
