// The health verdict of one backend: the one type every layer uses for it, from
// the rise/fall state machine through the planner to metrics and the control
// protocol. Header-only, so julierctl and the protocol use it without the checker.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/ip.h"

namespace julier::health {

enum class State : unsigned char {
    unknown,  // not enough results yet to say
    up,       // passed `rise` consecutive checks since it was last down or unknown
    down,     // failed `fall` consecutive checks since it was last up or unknown
};

// "unknown", "up", "down": the words of the control-socket protocol and logs.
constexpr std::string_view to_string(State state) {
    switch (state) {
        case State::unknown: return "unknown";
        case State::up: return "up";
        case State::down: return "down";
    }
    return "unknown";
}

constexpr std::optional<State> state_from_string(std::string_view text) {
    for (State state : {State::unknown, State::up, State::down}) {
        if (to_string(state) == text) return state;
    }
    return std::nullopt;
}

// One backend's verdict as the checker holds it now.
struct Verdict {
    State state = State::unknown;
    // Slow start: the share of the configured weight it gets now, 0..1 (counts only while up).
    double weight_factor = 1.0;
    std::string reason;  // of the last transition

    bool operator==(const Verdict&) const = default;
};

// Every checked backend's verdict at one moment, by service name then backend
// address; a backend missing here has no verdict (unknown).
using Snapshot = std::map<std::string, std::map<common::IpAddress, Verdict>>;

}  // namespace julier::health
