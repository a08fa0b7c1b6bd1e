// Small builders for the families the collectors hand to prometheus-cpp, so each
// collector states what it exports and not how a sample is laid out.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include "metrics/metric_specs.h"

namespace julier::metrics {

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// A family without samples yet (the text format then shows only HELP and TYPE).
prometheus::MetricFamily make_family(const MetricSpec& spec);

// Appends one counter or gauge sample (by the family's type).
void add_sample(prometheus::MetricFamily& family, Labels labels, double value);

// Appends one histogram sample. `counts[i]` counts observations in
// (bounds[i-1], bounds[i]]; counts has one more element than bounds, for those
// above every bound.
void add_histogram(prometheus::MetricFamily& family, Labels labels, std::span<const double> bounds,
                   std::span<const std::uint64_t> counts, double sum);

}  // namespace julier::metrics
