// The health of one backend as the rest of julier sees it.
#pragma once

#include <optional>
#include <string_view>

namespace julier::health {

enum class State : unsigned char {
    unknown,  // not enough results yet to say
    up,       // passed `rise` consecutive checks since it was last down or unknown
    down,     // failed `fall` consecutive checks since it was last up or unknown
};

// "unknown", "up", "down": the words of the control-socket protocol and metrics.
std::string_view to_string(State state);
std::optional<State> state_from_string(std::string_view text);

}  // namespace julier::health
