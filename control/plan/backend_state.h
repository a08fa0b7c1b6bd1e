// The decided state of one backend: what the forwarder does with it, and the one
// function that decides it from the health verdict, the catalogue, the operator's
// override, the slow-start weight and the next hop. The plan holds the decision;
// metrics, `julierctl` and the control protocol show it and decide nothing.
// The role and its words are header-only, so julierctl uses them without the planner.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/catalogue.h"
#include "health/state.h"
#include "neigh/resolver.h"

namespace julier::plan {

enum class BackendRole {
    in_ring,     // usable: gets new flows (weight > 0), keeps established ones
    draining,    // keeps established flows, gets no new ones (drain, or weight now 0)
    pending,     // health not known yet (checked, no verdict): keeps flows, no new ones
    down,        // health down: its flows are re-picked
    unresolved,  // no link-layer next hop: treated as down, `problem` says why
    maint,       // forced down by the operator (`julierctl maint`), whatever its health: as down
};

// The log words: "in_ring" | "draining" | "pending" | "down" | "unresolved" | "maint".
constexpr std::string_view to_string(BackendRole role) {
    switch (role) {
        case BackendRole::in_ring: return "in_ring";
        case BackendRole::draining: return "draining";
        case BackendRole::pending: return "pending";
        case BackendRole::down: return "down";
        case BackendRole::unresolved: return "unresolved";
        case BackendRole::maint: return "maint";
    }
    return "down";
}

// The operator's words (`julierctl backends`, the protocol's `state`): "active",
// "drain", "pending", "down" or "maint"; an unresolved backend is down, its `problem`
// says why.
constexpr std::string_view state_word(BackendRole role) {
    switch (role) {
        case BackendRole::in_ring: return "active";
        case BackendRole::draining: return "drain";
        case BackendRole::pending: return "pending";
        case BackendRole::down:
        case BackendRole::unresolved: return "down";
        case BackendRole::maint: return "maint";
    }
    return "down";
}

constexpr std::optional<BackendRole> role_from_state_word(std::string_view word) {
    for (BackendRole role :
         {BackendRole::in_ring, BackendRole::draining, BackendRole::pending, BackendRole::down, BackendRole::maint}) {
        if (state_word(role) == word) return role;
    }
    return std::nullopt;
}

// What the operator set at run time for one backend (`julierctl drain|undrain`,
// `weight`, `maint|ready`); unset fields leave the catalogue's word.
struct BackendOverride {
    std::optional<config::BackendState> state;  // drain or undrain
    std::optional<std::uint32_t> weight;        // the ring weight instead of the catalogue's
    bool maint = false;                         // forced down

    bool operator==(const BackendOverride&) const = default;
};

// Everything a backend's state depends on.
struct BackendFacts {
    health::Verdict verdict;                                         // from the health snapshot
    bool checked = true;                                             // its service has a health check
    config::BackendState configured = config::BackendState::active;  // the catalogue's `state`
    std::uint32_t configured_weight = 0;                             // the catalogue's `weight`
    BackendOverride operator_override;                               // the operator's word, if any
    const neigh::Resolution* next_hop = nullptr;                     // nullptr: not resolved yet
    bool l2 = false;                                                 // forwarding l2 (MAC rewrite)
    // when_all_down: keep, and no backend of the service was usable: every
    // non-drained, resolved backend with a weight takes its full weight (a backend
    // in maint stays out: the operator's word is not a health verdict).
    bool fail_open = false;
};

struct BackendDecision {
    BackendRole role = BackendRole::down;
    // The verdict as shown: an unchecked backend (health kind none) is up.
    health::State health = health::State::unknown;
    std::uint32_t weight = 0;      // in the ring; 0 unless role == in_ring
    std::uint32_t set_weight = 0;  // the weight in force: the catalogue's or the operator's
    std::string weight_source;     // "config" or "operator": who set set_weight
    std::string state_source;      // "config" or "operator": whose word (state, drain, maint) holds
    std::string drain_source;      // "config" or "operator" when drained by state
    std::string problem;           // why it cannot be forwarded to

    bool operator==(const BackendDecision&) const = default;
};

// Pure: the one place that decides usable / draining / pending / down / unresolved /
// maint.
BackendDecision decide_backend(const BackendFacts& facts);

}  // namespace julier::plan
