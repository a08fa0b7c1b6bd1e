// What the health checker tells the metrics about each probe. A plain interface so
// the checker does not depend on the metrics library, and tests can record probes.
#pragma once

#include <chrono>
#include <string_view>

namespace julier::metrics {

struct ProbeOutcome {
    std::string_view service;  // the service's name
    std::string_view backend;  // the backend's address, canonical text
    std::string_view kind;     // config::to_string(HealthKind): "tcp", "http", ...
    std::chrono::nanoseconds duration{0};
    // Empty when the probe passed. Else a short fixed token naming the class of
    // failure ("timeout", "refused", "status", ...), never a message: each distinct
    // value is a time series. Tokens other than [a-z0-9_]{1,32} are counted as "other".
    std::string_view failure;
};

class ProbeRecorder {
public:
    virtual ~ProbeRecorder() = default;
    // Thread-safe; cheap (a lock and a few map lookups).
    virtual void record_probe(const ProbeOutcome& outcome) = 0;
};

}  // namespace julier::metrics
