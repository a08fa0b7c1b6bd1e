// The daemon's own state: which build runs, since when, and how configuration
// loads and reloads went.
#pragma once

#include <chrono>
#include <map>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace julier::metrics {

// The version julier was built as (the CMake project version).
std::string_view build_version();

class LifecycleMetrics final : public prometheus::Collectable {
public:
    explicit LifecycleMetrics(std::chrono::system_clock::time_point started = std::chrono::system_clock::now());

    // The configuration read at start-up is in use (not counted as a reload).
    void config_loaded(std::uint64_t generation);
    // A reload put a new configuration in use.
    void reload_succeeded(std::uint64_t generation);
    // A reload was refused; the previous configuration stays in use.
    void reload_failed();
    // The forwarder runs on the interface or not, and how often it was re-attached.
    void interface_state(const std::string& name, bool attached, std::uint64_t reattaches);
    // Interfaces no longer in the catalogue disappear from the metrics.
    void forget_interfaces_except(const std::vector<std::string>& names);

    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    void adopt(std::uint64_t generation);  // with mutex_ held

    const double started_;  // Unix seconds
    mutable std::mutex mutex_;
    std::uint64_t reload_successes_ = 0;
    std::uint64_t reload_failures_ = 0;
    std::optional<bool> last_successful_;      // unset until the first load
    std::optional<double> last_success_time_;  // Unix seconds
    std::uint64_t generation_ = 0;
    struct Interface {
        bool attached = false;
        std::uint64_t reattaches = 0;
    };
    std::map<std::string, Interface> interfaces_;
};

}  // namespace julier::metrics
