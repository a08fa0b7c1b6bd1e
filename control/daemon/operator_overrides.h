// What the operator sets for a backend at run time: a drain or undrain
// (`julierctl drain|undrain`), a ring weight (`julierctl weight`) and maint, a
// forced down (`julierctl maint|ready`).
//
// The rule: an override stays until the operator lifts it or the catalogue changes
// the field it overrides (the file is the newer word), or the backend leaves the
// catalogue.
// - drain/undrain remembers the catalogue `state` it was set against; a reload that
//   shows another `state` drops it. `undrain` lifts a drain, `drain` an undrain.
// - weight remembers the catalogue `weight` it was set against; a reload that shows
//   another `weight` drops it. Setting the catalogue's weight lifts it.
// - maint overrides no catalogue field (the file has no word for it), so no reload
//   drops it while the backend stays in the catalogue: only `ready` lifts it. A
//   backend in maintenance does not come back because someone edited its weight.
// An override equal to what the catalogue says is not kept: there is nothing to
// override, and a later change of the file then applies directly.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/ip.h"
#include "config/catalogue.h"
#include "plan/backend_state.h"

namespace julier::daemon {

struct OperatorOverride {
    plan::BackendOverride wants;                                       // what the operator set
    config::BackendState config_state = config::BackendState::active;  // the file's state when wants.state was set
    std::uint32_t config_weight = 0;                                   // the file's weight when wants.weight was set

    bool empty() const { return !wants.state && !wants.weight && !wants.maint; }
    // "drain", "undrain", "weight 3", "maint", joined by ", ": for the log.
    std::string describe() const;

    bool operator==(const OperatorOverride&) const = default;
};

// Why (part of) an override went away on a reload, for the log.
struct DroppedOverride {
    std::string service;
    common::IpAddress address;
    std::string override_;  // what was dropped, as OperatorOverride::describe()
    std::string reason;     // "backend removed from the catalogue", "weight changed in the catalogue to 50"
};

struct OverrideChange {
    std::string error;     // non-empty: nothing changed (unknown service, backend, bad address or weight)
    bool changed = false;  // false: it already was so
};

class OperatorOverrides {
public:
    // On `address` in `service` of `catalogue` (the running one): drain (`desired`
    // drain) or undrain (`desired` active); a ring weight; maint (true) or ready (false).
    OverrideChange set_state(const config::Catalogue& catalogue, const std::string& service, const std::string& address,
                             config::BackendState desired);
    OverrideChange set_weight(const config::Catalogue& catalogue, const std::string& service,
                              const std::string& address, std::uint32_t weight);
    OverrideChange set_maint(const config::Catalogue& catalogue, const std::string& service, const std::string& address,
                             bool maint);

    // Applies the rule above for the next catalogue; returns what was dropped.
    std::vector<DroppedOverride> reconcile(const config::Catalogue& next);

    // nullptr: the operator set nothing for that backend.
    const OperatorOverride* find(const std::string& service, const common::IpAddress& address) const;

    // What the planner reads: the operator's words without the file's values.
    std::map<std::string, std::map<common::IpAddress, plan::BackendOverride>> for_plan() const;

    const std::map<std::string, std::map<common::IpAddress, OperatorOverride>>& all() const { return overrides_; }
    bool empty() const { return overrides_.empty(); }

    // Persistence across daemon restarts: a JSON document, and back. from_json
    // ignores malformed entries and parts (reconcile() then settles the rest), and
    // reads the drains-only files of earlier versions, which hold the same fields.
    nlohmann::json to_json() const;
    static OperatorOverrides from_json(const nlohmann::json& document);

    bool operator==(const OperatorOverrides&) const = default;

private:
    // The backend's override to edit, or an error (unknown service, backend, bad address).
    struct Target {
        std::string error;
        const config::Backend* backend = nullptr;
        std::string service;
        common::IpAddress address;
    };
    static Target find_target(const config::Catalogue& catalogue, const std::string& service,
                              const std::string& address);
    // Stores `next` for the target (or forgets it when empty); true when it differs.
    bool store(const Target& target, const OperatorOverride& next);

    std::map<std::string, std::map<common::IpAddress, OperatorOverride>> overrides_;
};

}  // namespace julier::daemon
