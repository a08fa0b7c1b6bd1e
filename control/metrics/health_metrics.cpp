#include "metrics/health_metrics.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <utility>

#include "metrics/family.h"
#include "metrics/metric_specs.h"

namespace julier::metrics {

namespace {

// Label values that come from callers are bounded tokens, so that a bug upstream
// cannot flood Prometheus with series.
std::string token(std::string_view value) {
    const bool ok = !value.empty() && value.size() <= 32 && std::all_of(value.begin(), value.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
    return ok ? std::string(value) : std::string("other");
}

}  // namespace

void HealthMetrics::record_probe(const ProbeOutcome& outcome) {
    const double seconds = std::max(0.0, std::chrono::duration<double>(outcome.duration).count());
    // Bucket i holds observations in (bounds[i-1], bounds[i]] ("le" semantics).
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(duration_bounds.begin(), duration_bounds.end(), seconds) - duration_bounds.begin());

    std::lock_guard lock(mutex_);
    auto& d = durations_[DurationKey{outcome.service, token(outcome.kind)}];
    ++d.counts[bucket];
    d.sum += seconds;
    if (!outcome.failure.empty()) ++failures_[FailureKey{outcome.service, outcome.backend, token(outcome.failure)}];
}

void HealthMetrics::retain(const LabelTable& table) {
    std::set<std::string_view> services;
    std::set<std::pair<std::string_view, std::string_view>> backends;
    for (const auto& service : table.services) {
        services.insert(service.name);
        for (const auto& backend : service.backends) backends.emplace(service.name, backend.address);
    }

    std::lock_guard lock(mutex_);
    std::erase_if(durations_, [&](const auto& entry) { return !services.contains(std::get<0>(entry.first)); });
    std::erase_if(failures_, [&](const auto& entry) {
        const auto& [service, backend, reason] = entry.first;
        return !backends.contains({service, backend});
    });
}

std::vector<prometheus::MetricFamily> HealthMetrics::Collect() const {
    auto durations = make_family(spec::health_check_duration);
    auto failures = make_family(spec::health_check_failures);
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, d] : durations_) {
            const auto& [service, kind] = key;
            add_histogram(durations, {{"service", service}, {"kind", kind}}, duration_bounds, d.counts, d.sum);
        }
        for (const auto& [key, count] : failures_) {
            const auto& [service, backend, reason] = key;
            add_sample(failures, {{"service", service}, {"backend", backend}, {"reason", reason}},
                       static_cast<double>(count));
        }
    }
    std::vector<prometheus::MetricFamily> out;
    out.push_back(std::move(durations));
    out.push_back(std::move(failures));
    return out;
}

}  // namespace julier::metrics
