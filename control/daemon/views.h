// What `julierctl services|backends` shows, computed from the applied plan (which
// holds each backend's decided state), the health reasons and the forwarder's
// counters. Pure: no I/O, unit-tested.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"
#include "config/catalogue.h"
#include "daemon/protocol.h"
#include "dataplane/dataplane.h"
#include "health/state.h"
#include "plan/diff.h"
#include "plan/plan.h"

namespace julier::daemon {

std::vector<protocol::ServiceInfo> service_infos(const config::Catalogue& catalogue, const plan::Plan& plan,
                                                 const dataplane::Counters* counters);

// Every backend of every service, or of `service` only when it is set.
// `health` gives the reason of each backend's last transition.
std::vector<protocol::BackendInfo> backend_infos(const plan::Plan& plan, const health::Snapshot& health,
                                                 const dataplane::Counters* counters,
                                                 const std::optional<std::string>& service = std::nullopt);

// A reload's changes as the protocol carries them.
std::vector<protocol::ChangeInfo> change_infos(const std::vector<plan::Change>& changes);

}  // namespace julier::daemon
