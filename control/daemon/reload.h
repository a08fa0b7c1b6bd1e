// Whether a re-read catalogue may replace the running one, and in what form.
// Pure, so the rules are unit-tested without a daemon.
//
// Rules:
//  - Any error diagnostic: nothing changes; every diagnostic is reported.
//  - Map sizes (`limits`) and `pin_dir` are fixed while the forwarder is loaded, and
//    `control_socket` and `metrics` are bound once: a new value is reported as a
//    warning and takes effect at the next restart; the running value is kept.
//  - Everything else (services, backends, interfaces, flood_protection) applies now.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/catalogue.h"
#include "config/parse.h"

namespace julier::daemon {

struct ReloadDecision {
    // The catalogue to plan and apply; nullopt = keep the running one.
    std::optional<config::Catalogue> catalogue;
    std::vector<std::string> errors;    // "file:line:col: error: ..."
    std::vector<std::string> warnings;  // diagnostics and restart-only changes
};

ReloadDecision decide_reload(const config::Catalogue& running, const config::ParseResult& next);

// Interfaces to detach and to attach to move from `running` to `next`. An interface
// whose xdp_mode changed is in both (detached, then attached in the new mode).
struct InterfaceChanges {
    std::vector<config::Interface> detach;
    std::vector<config::Interface> attach;
};

InterfaceChanges interface_changes(const std::vector<config::Interface>& running,
                                   const std::vector<config::Interface>& next);

}  // namespace julier::daemon
