// What `julierctl flows|which|purge` show, from the connection table's entries and
// the live plan's names for their ids. Pure: the walk of the table is the
// dataplane's, the thread it runs on the FlowWalker's; unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "daemon/protocol.h"
#include "dataplane/flow_pick.h"
#include "flows/flow_table.h"
#include "plan/plan.h"

namespace julier::daemon {

// The live plan's names for service and backend ids: a copy, so a walk on another
// thread can use it while the plan changes.
struct FlowNames {
    struct Service {
        std::string name;
        protocol::ServiceFlows row;  // name, vip, port, protocol; flows 0
    };
    std::map<std::uint32_t, Service> services;  // by service id
    // by (service id, backend id): address and state
    std::map<std::pair<std::uint32_t, std::uint32_t>, protocol::BackendFlows> backends;
    std::vector<std::uint32_t> service_order;  // catalogue order

    static FlowNames of(const plan::Plan& plan);
    std::string service(std::uint32_t id) const;
    std::string backend(std::uint32_t service_id, std::uint32_t backend_id) const;
};

// A SERVICE [BACKEND] argument as a filter of ids, or the error to answer.
std::variant<flows::Filter, std::string> flow_filter(const plan::Plan& plan, const std::string& service,
                                                     const std::string& backend);

// Counts per service and backend (every one the plan names, 0 included), of those
// the filter selects.
protocol::FlowsResult flow_counts(const FlowNames& names, const flows::Census& census, std::uint32_t max_flows,
                                  const flows::Filter& filter);

protocol::FlowInfo flow_info(const flows::FlowEntry& entry, const FlowNames& names);

// The size of an entry as a page of `flows --list` carries it (its JSON and a comma).
std::size_t flow_info_bytes(const flows::FlowEntry& entry, const FlowNames& names);

// A page's byte budget: the protocol's line limit, less room for the envelope.
inline constexpr std::size_t kFlowPageBudget = protocol::kMaxLineBytes - 1024;

protocol::WhichResult which_result(const dataplane::FlowPick& pick, const FlowNames& names);

}  // namespace julier::daemon
