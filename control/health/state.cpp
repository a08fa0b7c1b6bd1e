#include "health/state.h"

namespace julier::health {

std::string_view to_string(State state)
{
    switch (state) {
    case State::unknown:
        return "unknown";
    case State::up:
        return "up";
    case State::down:
        return "down";
    }
    return "unknown";
}

std::optional<State> state_from_string(std::string_view text)
{
    for (State state : {State::unknown, State::up, State::down}) {
        if (to_string(state) == text) return state;
    }
    return std::nullopt;
}

}  // namespace julier::health
