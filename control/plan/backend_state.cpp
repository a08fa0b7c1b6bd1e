#include "plan/backend_state.h"

#include <algorithm>
#include <cmath>

namespace julier::plan {
namespace {

// The configured weight scaled by the slow-start factor; never rounds a positive
// share down to nothing, so a backend in slow start takes at least one slot.
std::uint32_t scaled_weight(std::uint32_t configured, double factor) {
    if (configured == 0 || !(factor > 0.0)) return 0;
    if (factor >= 1.0) return configured;
    auto scaled = static_cast<std::uint32_t>(std::llround(configured * factor));
    return std::max<std::uint32_t>(scaled, 1);
}

// Why the backend cannot be forwarded to, or "" when its next hop is usable.
std::string next_hop_problem(const BackendFacts& f) {
    if (f.next_hop == nullptr) return "next hop not resolved yet";
    if (!f.next_hop->ok()) return f.next_hop->error.empty() ? "next hop unresolvable" : f.next_hop->error;
    if (f.l2 && f.next_hop->next_hop->gateway) {
        // A MAC rewrite cannot cross a router: the frame would reach the router with
        // the VIP as destination and go nowhere useful.
        return "forwarding l2 needs the backend on a directly connected network, but the route goes via " +
               f.next_hop->next_hop->gateway->to_string() + " on " + f.next_hop->next_hop->ifname;
    }
    return {};
}

}  // namespace

BackendDecision decide_backend(const BackendFacts& f) {
    BackendDecision out;
    // No check: nothing marks it down, so it counts as up without a verdict.
    out.health = !f.checked && f.verdict.state == health::State::unknown ? health::State::up : f.verdict.state;
    const auto& o = f.operator_override;
    out.set_weight = o.weight.value_or(f.configured_weight);
    out.weight_source = o.weight ? "operator" : "config";
    out.state_source = o.maint || o.state ? "operator" : "config";
    out.problem = next_hop_problem(f);

    if (o.maint) {
        out.role = BackendRole::maint;  // the operator's word first: it holds whatever else is true
        return out;
    }
    if (!out.problem.empty()) {
        out.role = BackendRole::unresolved;
        return out;
    }

    const config::BackendState state = o.state.value_or(f.configured);
    if (f.fail_open && state != config::BackendState::drain && out.set_weight > 0) {
        out.role = BackendRole::in_ring;  // better some flows reach a backend that may be alive than none
        out.weight = out.set_weight;
    } else if (out.health == health::State::down) {
        out.role = BackendRole::down;
    } else if (state == config::BackendState::drain) {
        out.role = BackendRole::draining;
        out.drain_source = o.state ? "operator" : "config";
    } else if (out.health == health::State::up) {
        // The slow-start share counts only for a verdict of up (an unchecked backend may have none).
        const double factor = f.verdict.state == health::State::up ? f.verdict.weight_factor : 1.0;
        out.weight = scaled_weight(out.set_weight, factor);
        out.role = out.weight > 0 ? BackendRole::in_ring : BackendRole::draining;
    } else {
        out.role = BackendRole::pending;
    }
    return out;
}

}  // namespace julier::plan
