// Per-second rates of each service's counters for the status page. A rate needs
// two samples: each page view takes one, and the rates are over the time since the
// earlier sample (at least kMinInterval before). Pure: the caller passes the time.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/protocol.h"

namespace julier::web {

struct ServiceRates {
    double packets = 0;  // per second
    double bytes = 0;
    double new_flows = 0;
};

struct Rates {
    double seconds = 0;                            // the window; 0: no earlier sample, no rates yet
    std::map<std::string, ServiceRates> services;  // by service name
};

class RateSampler {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kMinInterval{1};

    // Records the counters of `services` at `now` and returns the rates since an
    // earlier sample. A service without an earlier sample, or whose counters went
    // down (a new forwarder), has no rate.
    Rates observe(Clock::time_point now, const std::vector<daemon::protocol::ServiceInfo>& services);

private:
    struct Sample {
        Clock::time_point at;
        std::map<std::string, std::array<std::uint64_t, 3>> counters;  // packets, bytes, new flows
    };
    std::optional<Sample> earlier_;  // the rates' reference while latest_ is too recent
    std::optional<Sample> latest_;
};

}  // namespace julier::web
