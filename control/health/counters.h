// What the health checker counts, for metrics: probes and failures by kind and
// failure class, probe durations and probe-start lateness as histograms. Plain
// values; the metrics code turns them into Prometheus series at scrape time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "config/catalogue.h"
#include "health/result.h"

namespace julier::health {

// Upper bounds in seconds, Prometheus style (plus an implicit +Inf bucket).
inline constexpr std::array<double, 14> kHistogramBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

struct Histogram {
    // counts[i]: observations in (bounds[i-1], bounds[i]]; the last one is +Inf.
    // Not cumulative.
    std::array<std::uint64_t, kHistogramBounds.size() + 1> counts{};
    std::uint64_t count = 0;
    double sum = 0.0;  // seconds

    void observe(double seconds);
};

// Indexed by config::HealthKind.
inline constexpr std::size_t kHealthKindCount = static_cast<std::size_t>(config::HealthKind::none) + 1;

struct KindCounters {
    std::uint64_t probes = 0;  // finished probes
    std::uint64_t passed = 0;
    std::array<std::uint64_t, kFailureCount> failed{};  // by Failure
    Histogram duration;
};

struct Counters {
    std::array<KindCounters, kHealthKindCount> kinds{};
    std::uint64_t went_up = 0;
    std::uint64_t went_down = 0;
    // Slots skipped because the previous probe of that target was still running.
    std::uint64_t skipped_busy = 0;
    Histogram start_lateness;  // started - scheduled; an early start (timer slack) counts as 0

    KindCounters& of(config::HealthKind kind) { return kinds[static_cast<std::size_t>(kind)]; }
    const KindCounters& of(config::HealthKind kind) const { return kinds[static_cast<std::size_t>(kind)]; }
};

}  // namespace julier::health
