#include "metrics/forwarder_collector.h"

#include <array>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "julier/abi.h"
#include "metrics/family.h"
#include "metrics/metric_specs.h"

namespace julier::metrics {

namespace {

struct VerdictReason {
    std::string_view verdict;
    std::string_view reason;
};

// Indexed by enum jl_counter: both are expanded from the same JL_COUNTERS list.
constexpr std::array<VerdictReason, JL_CNT_COUNT> verdict_reasons{{
#define JL_VERDICT_REASON(name, verdict, label) {#verdict, label},
    JL_COUNTERS(JL_VERDICT_REASON)
#undef JL_VERDICT_REASON
}};

void add_forwarder(std::vector<prometheus::MetricFamily>& out, const dataplane::Counters& counters) {
    auto packets = make_family(spec::forwarder_packets);
    auto bytes = make_family(spec::forwarder_bytes);
    for (std::size_t i = 0; i < verdict_reasons.size(); ++i) {
        const auto& [verdict, reason] = verdict_reasons[i];
        add_sample(packets, {{"verdict", verdict}, {"reason", reason}},
                   static_cast<double>(counters.reasons[i].packets));
        add_sample(bytes, {{"verdict", verdict}, {"reason", reason}}, static_cast<double>(counters.reasons[i].bytes));
    }
    out.push_back(std::move(packets));
    out.push_back(std::move(bytes));
}

void add_traffic(std::vector<prometheus::MetricFamily>& out, const LabelTable& table,
                 const dataplane::Counters& counters) {
    auto service_packets = make_family(spec::service_packets);
    auto service_bytes = make_family(spec::service_bytes);
    auto service_new_flows = make_family(spec::service_new_flows);
    auto service_nonsyn_miss = make_family(spec::service_nonsyn_miss);
    auto backend_packets = make_family(spec::backend_packets);
    auto backend_bytes = make_family(spec::backend_bytes);
    auto backend_new_flows = make_family(spec::backend_new_flows);

    for (const auto& service : table.services) {
        // An id past the counters would mean the maps are smaller than the plan's
        // limits; such a service has no counters to show.
        if (service.id < counters.services.size()) {
            const auto& t = counters.services[service.id];
            const Labels labels{{"service", service.name},
                                {"vip", service.vip},
                                {"port", service.port},
                                {"protocol", service.protocol}};
            add_sample(service_packets, labels, static_cast<double>(t.packets));
            add_sample(service_bytes, labels, static_cast<double>(t.bytes));
            add_sample(service_new_flows, labels, static_cast<double>(t.new_flows));
            add_sample(service_nonsyn_miss, labels, static_cast<double>(t.nonsyn_miss));
        }
        for (const auto& backend : service.backends) {
            if (backend.id >= counters.backends.size()) continue;
            const auto& t = counters.backends[backend.id];
            const Labels labels{{"service", service.name}, {"backend", backend.address}};
            add_sample(backend_packets, labels, static_cast<double>(t.packets));
            add_sample(backend_bytes, labels, static_cast<double>(t.bytes));
            add_sample(backend_new_flows, labels, static_cast<double>(t.new_flows));
        }
    }
    for (auto* family : {&service_packets, &service_bytes, &service_new_flows, &service_nonsyn_miss, &backend_packets,
                         &backend_bytes, &backend_new_flows})
        out.push_back(std::move(*family));
}

void add_backend_state(std::vector<prometheus::MetricFamily>& out, const LabelTable& table) {
    auto up = make_family(spec::backend_up);
    auto weight = make_family(spec::backend_weight);
    auto configured_weight = make_family(spec::backend_configured_weight);
    auto draining = make_family(spec::backend_draining);
    auto maint = make_family(spec::backend_maint);
    for (const auto& service : table.services) {
        for (const auto& backend : service.backends) {
            const Labels labels{{"service", service.name}, {"backend", backend.address}};
            add_sample(up, labels, backend.up ? 1 : 0);
            add_sample(weight, labels, backend.weight);
            add_sample(configured_weight, labels, backend.configured_weight);
            add_sample(draining, labels, backend.draining ? 1 : 0);
            add_sample(maint, labels, backend.maint ? 1 : 0);
        }
    }
    for (auto* family : {&up, &weight, &configured_weight, &draining, &maint}) out.push_back(std::move(*family));
}

}  // namespace

ForwarderCollector::ForwarderCollector(ForwarderReader reader) : reader_(std::move(reader)) {}

void ForwarderCollector::set_reader(ForwarderReader reader) {
    std::lock_guard lock(read_mutex_);
    reader_ = std::move(reader);
}

void ForwarderCollector::publish(std::shared_ptr<const LabelTable> table) {
    std::lock_guard lock(table_mutex_);
    table_ = std::move(table);
}

std::shared_ptr<const LabelTable> ForwarderCollector::label_table() const {
    std::lock_guard lock(table_mutex_);
    return table_;
}

std::optional<ForwarderReading> ForwarderCollector::read() const {
    // Called with read_mutex_ held.
    if (!reader_) return std::nullopt;
    std::string error;
    try {
        auto reading = reader_();
        last_error_.clear();  // a failure after a recovery is logged again
        return reading;
    } catch (const std::exception& e) {
        error = e.what();
    } catch (...) {
        error = "unknown exception";
    }
    ++read_errors_;
    if (error != last_error_) {
        spdlog::warn("metrics: cannot read the forwarder's counters: {}", error);
        last_error_ = std::move(error);
    }
    return std::nullopt;
}

std::vector<prometheus::MetricFamily> ForwarderCollector::Collect() const {
    const auto table = label_table();
    std::optional<ForwarderReading> reading;
    std::uint64_t read_errors = 0;
    {
        std::lock_guard lock(read_mutex_);
        reading = read();
        read_errors = read_errors_;
    }

    std::vector<prometheus::MetricFamily> out;
    if (reading) {
        add_forwarder(out, reading->counters);
        if (table) add_traffic(out, *table, reading->counters);
        auto generation = make_family(spec::dataplane_generation);
        add_sample(generation, {}, reading->generation);
        out.push_back(std::move(generation));
    }
    if (table) add_backend_state(out, *table);
    auto errors = make_family(spec::forwarder_read_errors);
    add_sample(errors, {}, static_cast<double>(read_errors));
    out.push_back(std::move(errors));
    return out;
}

}  // namespace julier::metrics
