// Everything julierd exports, in one object the daemon owns for its whole life.
// Serving it over HTTP is julierd's HTTP server's job (web/http_server.h; metrics.enabled
// may be false, and the server can be replaced while the values here carry on).
//
// The daemon, in short (all calls are thread-safe):
//   Metrics metrics;
//   metrics.set_forwarder_reader([dp] { return ForwarderReading{dp->read_counters(), dp->generation()}; });
//   metrics.lifecycle().config_loaded(generation);                // start-up
//   metrics.publish(make_label_table(catalogue, plan, runtime));  // after each apply
//   metrics.probes().record_probe(outcome);                       // each health probe
//   metrics.render();                                             // each scrape of /metrics
//   metrics.set_forwarder_reader({});  // before the Dataplane goes (waits for a scrape)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "metrics/fleet_metrics.h"
#include "metrics/flow_metrics.h"
#include "metrics/forwarder_collector.h"
#include "metrics/health_metrics.h"
#include "metrics/label_table.h"
#include "metrics/lifecycle_metrics.h"
#include "metrics/probe_recorder.h"

namespace julier::metrics {

class Metrics {
public:
    // See ForwarderReader for what the reader must guarantee; empty = no forwarder yet.
    explicit Metrics(ForwarderReader reader = {});

    // Replaces the reader; waits for a scrape in progress (see ForwarderCollector).
    void set_forwarder_reader(ForwarderReader reader);

    // The live plan's labels, after each successful apply (and after adopting a
    // running forwarder). Services and backends it no longer names vanish from the
    // next scrape, health series included. Thread-safe.
    void publish(LabelTable table);

    ProbeRecorder& probes() { return *health_; }
    LifecycleMetrics& lifecycle() { return *lifecycle_; }
    FleetMetrics& fleet() { return *fleet_; }
    FlowMetrics& flows() { return *flows_; }

    // The text exposition of every julier metric: the body of a scrape.
    std::string render() const;

private:
    std::vector<std::weak_ptr<prometheus::Collectable>> collectables() const;

    std::shared_ptr<ForwarderCollector> forwarder_;
    std::shared_ptr<HealthMetrics> health_;
    std::shared_ptr<LifecycleMetrics> lifecycle_;
    std::shared_ptr<FleetMetrics> fleet_;
    std::shared_ptr<FlowMetrics> flows_;
};

}  // namespace julier::metrics
