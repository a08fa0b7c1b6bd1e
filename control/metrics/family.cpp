#include "metrics/family.h"

#include <limits>
#include <stdexcept>

namespace julier::metrics {

namespace {

prometheus::ClientMetric& new_metric(prometheus::MetricFamily& family, Labels labels) {
    auto& metric = family.metric.emplace_back();
    metric.label.reserve(labels.size());
    for (const auto& [name, value] : labels) metric.label.push_back({std::string(name), std::string(value)});
    return metric;
}

}  // namespace

prometheus::MetricFamily make_family(const MetricSpec& spec) {
    prometheus::MetricFamily family;
    family.name = std::string(spec.name);
    family.help = std::string(spec.help);
    family.type = spec.type;
    return family;
}

void add_sample(prometheus::MetricFamily& family, Labels labels, double value) {
    auto& metric = new_metric(family, labels);
    switch (family.type) {
        case prometheus::MetricType::Counter: metric.counter.value = value; break;
        case prometheus::MetricType::Gauge: metric.gauge.value = value; break;
        default: throw std::logic_error("add_sample: " + family.name + " is neither counter nor gauge");
    }
}

void add_histogram(prometheus::MetricFamily& family, Labels labels, std::span<const double> bounds,
                   std::span<const std::uint64_t> counts, double sum) {
    if (family.type != prometheus::MetricType::Histogram)
        throw std::logic_error("add_histogram: " + family.name + " is not a histogram");
    if (counts.size() != bounds.size() + 1)
        throw std::logic_error("add_histogram: " + family.name + ": one count per bucket");
    auto& metric = new_metric(family, labels);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += counts[i];
        metric.histogram.bucket.push_back({cumulative, bounds[i]});
    }
    cumulative += counts[bounds.size()];
    metric.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = sum;
}

}  // namespace julier::metrics
