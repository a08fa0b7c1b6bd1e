#include "metrics/lifecycle_metrics.h"

#include <algorithm>
#include <utility>

#include "metrics/family.h"
#include "metrics/metric_specs.h"

#ifndef JULIER_VERSION
#error "JULIER_VERSION must be defined by the build"
#endif

namespace julier::metrics {

namespace {

double unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

std::string_view build_version() { return JULIER_VERSION; }

LifecycleMetrics::LifecycleMetrics(std::chrono::system_clock::time_point started) : started_(unix_seconds(started)) {}

void LifecycleMetrics::adopt(std::uint64_t generation) {
    generation_ = generation;
    last_successful_ = true;
    last_success_time_ = unix_seconds(std::chrono::system_clock::now());
}

void LifecycleMetrics::config_loaded(std::uint64_t generation) {
    std::lock_guard lock(mutex_);
    adopt(generation);
}

void LifecycleMetrics::reload_succeeded(std::uint64_t generation) {
    std::lock_guard lock(mutex_);
    ++reload_successes_;
    adopt(generation);
}

void LifecycleMetrics::reload_failed() {
    std::lock_guard lock(mutex_);
    ++reload_failures_;
    last_successful_ = false;
}

void LifecycleMetrics::interface_state(const std::string& name, bool attached, std::uint64_t reattaches) {
    std::lock_guard lock(mutex_);
    interfaces_[name] = Interface{attached, reattaches};
}

void LifecycleMetrics::forget_interfaces_except(const std::vector<std::string>& names) {
    std::lock_guard lock(mutex_);
    std::erase_if(interfaces_,
                  [&](const auto& entry) { return std::find(names.begin(), names.end(), entry.first) == names.end(); });
}

std::vector<prometheus::MetricFamily> LifecycleMetrics::Collect() const {
    auto build = make_family(spec::build_info);
    add_sample(build, {{"version", build_version()}}, 1);
    auto start = make_family(spec::start_time);
    add_sample(start, {}, started_);

    auto reloads = make_family(spec::config_reloads);
    auto last_successful = make_family(spec::config_last_reload_successful);
    auto last_success_time = make_family(spec::config_last_reload_success_timestamp);
    auto generation = make_family(spec::config_generation);
    auto attached = make_family(spec::interface_attached);
    auto reattaches = make_family(spec::interface_reattaches);
    {
        std::lock_guard lock(mutex_);
        // Both results always appear, so that rate() and alerts see a series from the start.
        add_sample(reloads, {{"result", "success"}}, static_cast<double>(reload_successes_));
        add_sample(reloads, {{"result", "failure"}}, static_cast<double>(reload_failures_));
        if (last_successful_) add_sample(last_successful, {}, *last_successful_ ? 1 : 0);
        if (last_success_time_) add_sample(last_success_time, {}, *last_success_time_);
        add_sample(generation, {}, static_cast<double>(generation_));
        for (const auto& [name, state] : interfaces_) {
            add_sample(attached, {{"interface", name}}, state.attached ? 1 : 0);
            add_sample(reattaches, {{"interface", name}}, static_cast<double>(state.reattaches));
        }
    }

    std::vector<prometheus::MetricFamily> out;
    for (auto* family :
         {&build, &start, &reloads, &last_successful, &last_success_time, &generation, &attached, &reattaches})
        out.push_back(std::move(*family));
    return out;
}

}  // namespace julier::metrics
