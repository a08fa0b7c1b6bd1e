// What `julierctl services|backends` shows, computed from the applied plan, the
// runtime state and the forwarder's counters. Pure: no I/O, unit-tested.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"
#include "config/catalogue.h"
#include "daemon/protocol.h"
#include "dataplane/dataplane.h"
#include "plan/plan.h"

namespace julier::daemon {

// The reason of the last health transition per service and backend address.
using HealthReasons = std::map<std::string, std::map<common::IpAddress, std::string>>;

// "active" (gets new flows), "drain" (keeps established flows only), "pending"
// (checked, no verdict yet: keeps established flows only) or "down".
std::string_view backend_state_name(plan::BackendRole role);

std::vector<protocol::ServiceInfo> service_infos(const config::Catalogue& catalogue, const plan::Plan& plan,
                                                 const dataplane::Counters* counters);

// Every backend of every service, or of `service` only when it is set.
std::vector<protocol::BackendInfo> backend_infos(const plan::Plan& plan, const plan::RuntimeState& runtime,
                                                 const HealthReasons& reasons,
                                                 const dataplane::Counters* counters,
                                                 const std::optional<std::string>& service = std::nullopt);

}  // namespace julier::daemon
