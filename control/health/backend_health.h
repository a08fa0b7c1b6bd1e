// The rise/fall state machine of one backend, with slow start. Pure: the caller
// passes every result and the current time, so sequences are exactly testable.
//
//   unknown --rise passes--> up      unknown --fall failures--> down
//   up      --fall failures--> down  down    --rise passes-->   up
//
// A result of the other kind resets the count, so a backend whose checks alternate
// pass/fail stays where it is (hysteresis). With rise = 1 and fall = 1 there would be
// none, so in that one case coming back up takes 2 passes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "health/state.h"

namespace julier::health {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

struct Thresholds {
    std::uint32_t rise = 2;                   // consecutive passes to go up (0 is taken as 1)
    std::uint32_t fall = 3;                   // consecutive failures to go down (0 is taken as 1)
    std::chrono::milliseconds slow_start{0};  // 0: full weight at once

    bool operator==(const Thresholds&) const = default;
};

struct Transition {
    State from = State::unknown;
    State to = State::unknown;
    std::string reason;  // "connection refused (3 consecutive failures)"
    TimePoint at{};
};

class BackendHealth {
public:
    // `ramp_first_up`: whether going up from unknown ramps too. A backend known at
    // start-up skips it (it was most likely serving before the restart, and ramping
    // every backend of a service together changes no share); one added later ramps.
    explicit BackendHealth(Thresholds thresholds, bool ramp_first_up = false);

    // New thresholds from a reload; state, counts and a running ramp are kept.
    void set_thresholds(Thresholds thresholds) { thresholds_ = thresholds; }
    const Thresholds& thresholds() const { return thresholds_; }

    // Takes one probe result. Returns the transition it caused, if any: each
    // transition is reported exactly once, by the result that completed it.
    std::optional<Transition> record(bool ok, std::string_view reason, TimePoint now);

    // Up without probes (health kind none): at once, at full weight, no event.
    void assume_up(std::string reason, TimePoint now);

    State state() const { return state_; }
    // Reason and time of the last transition (empty / epoch while unknown).
    const std::string& reason() const { return reason_; }
    TimePoint since() const { return since_; }

    std::uint32_t consecutive_passes() const { return passes_; }
    std::uint32_t consecutive_failures() const { return failures_; }

    // Share of the configured weight to use now: 0 unless up; while ramping,
    // (now - went_up) / slow_start, linearly from 0 to 1; then 1.
    double weight_factor(TimePoint now) const;
    // When the ramp begun by the last going-up reaches 1 (possibly already past);
    // nullopt when the backend is not up or went up without a ramp.
    std::optional<TimePoint> ramp_end() const;

    // Passes needed to go up under the current thresholds (see the note above).
    std::uint32_t passes_to_rise() const;
    std::uint32_t failures_to_fall() const;

private:
    Thresholds thresholds_;
    bool ramp_first_up_;
    State state_ = State::unknown;
    std::uint32_t passes_ = 0;
    std::uint32_t failures_ = 0;
    std::string reason_;
    TimePoint since_{};
    std::optional<TimePoint> ramp_start_;
};

}  // namespace julier::health
