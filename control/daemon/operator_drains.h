// Drains and undrains set by the operator at run time (`julierctl drain|undrain`).
//
// The rule: an operator override stays until the operator lifts it (the opposite
// command) or the catalogue changes that backend's `state` field (the file is the
// newer word), or the backend leaves the catalogue. Each override remembers the
// catalogue `state` it was set against; a reload that shows another value drops it.
// An override equal to what the catalogue says is not kept: there is nothing to
// override, and a later change of the file then applies directly.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/ip.h"
#include "config/catalogue.h"

namespace julier::daemon {

struct DrainOverride {
    config::BackendState state = config::BackendState::drain;          // what the operator wants
    config::BackendState config_state = config::BackendState::active;  // what the file said then

    bool operator==(const DrainOverride&) const = default;
};

// Why an override went away on a reload, for the log.
struct DroppedOverride {
    std::string service;
    common::IpAddress address;
    DrainOverride override_;
    std::string reason;  // "backend removed from the catalogue", "state changed in the catalogue to drain"
};

struct DrainChange {
    std::string error;  // non-empty: nothing changed (unknown service, backend, bad address)
    bool changed = false;
    config::BackendState effective = config::BackendState::active;
};

class OperatorDrains {
public:
    // drain (`desired` drain) or undrain (`desired` active) of `address` in `service`
    // of `catalogue` (the running one).
    DrainChange set(const config::Catalogue& catalogue, const std::string& service, const std::string& address,
                    config::BackendState desired);

    // Applies the rule above for the next catalogue; returns what was dropped.
    std::vector<DroppedOverride> reconcile(const config::Catalogue& next);

    std::optional<config::BackendState> override_for(const std::string& service,
                                                     const common::IpAddress& address) const;

    const std::map<std::string, std::map<common::IpAddress, DrainOverride>>& all() const { return overrides_; }
    bool empty() const { return overrides_.empty(); }

    // Persistence across daemon restarts: a JSON document, and back. from_json
    // ignores malformed entries (reconcile() then settles the rest).
    nlohmann::json to_json() const;
    static OperatorDrains from_json(const nlohmann::json& document);

    bool operator==(const OperatorDrains&) const = default;

private:
    std::map<std::string, std::map<common::IpAddress, DrainOverride>> overrides_;
};

}  // namespace julier::daemon
