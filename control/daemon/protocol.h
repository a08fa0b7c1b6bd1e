// The control-socket protocol spoken by julierd and julierctl.
//
// Framing: one JSON object per line in each direction, newline-terminated. A client
// sends a request line and reads exactly one response line; it may send another
// request on the same connection. Lines longer than kMaxLineBytes are refused.
//
//   request:  {"command":"backends","service":"web"}
//   response: {"ok":true,"result":{...}}  or  {"ok":false,"error":"...","details":[...]}
//
// Both sides use the typed payloads below, so field names are written once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "health/state.h"
#include "plan/backend_state.h"

// The backend's verdict and decided state travel as their words ("up", "active");
// a word the reader does not know is a json::type_error, like any malformed field.
namespace julier::health {
void to_json(nlohmann::json& j, State v);
void from_json(const nlohmann::json& j, State& v);
}  // namespace julier::health
namespace julier::plan {
void to_json(nlohmann::json& j, BackendRole v);
void from_json(const nlohmann::json& j, BackendRole& v);
}  // namespace julier::plan

namespace julier::daemon::protocol {

inline constexpr std::size_t kMaxLineBytes = 64 * 1024;

enum class Command {
    status,
    services,
    backends,
    drain,
    undrain,
    reload,
    teardown,
    flows,
    which,
    purge,
    weight,
    maint,
    ready
};

// `flows` with list: entries per page at most, and when no limit is asked for.
inline constexpr std::uint32_t kMaxFlowLimit = 1000;
inline constexpr std::uint32_t kDefaultFlowLimit = 100;
// `teardown` grace: at most ten minutes, as bgp.teardown_grace.
inline constexpr std::uint32_t kMaxTeardownGraceMs = 600000;

std::string_view command_name(Command command);
std::optional<Command> command_from_name(std::string_view name);

struct Request {
    Command command = Command::status;
    // backends, flows: optional filter; drain, undrain, weight, maint, ready, purge: required
    std::string service;
    // drain, undrain, weight, maint, ready: required (the backend address); flows, purge: optional
    std::string backend;
    // flows: list the entries (else count them), at most `limit` (1..kMaxFlowLimit,
    // 0 = kDefaultFlowLimit), from the cursor `after` of the previous page
    bool list = false;
    std::uint32_t limit = 0;
    std::string after{};
    // which: the flow as the client sends it: "tcp" or "udp", "ADDRESS:PORT" each
    // ("[IPv6]:PORT")
    std::string protocol{};
    std::string client{};
    std::string vip{};
    // teardown: milliseconds between withdrawing the VIPs and detaching (at most
    // kMaxTeardownGraceMs); without it, the catalogue's bgp.teardown_grace
    std::optional<std::uint32_t> grace_ms{};
    // reload: plan and compare, apply nothing; `file` (an absolute path, only with
    // dry_run) is read instead of julierd's own catalogue
    bool dry_run = false;
    std::string file{};
    // weight: required, the ring weight to set (the catalogue's bounds; the
    // catalogue's own weight lifts the override)
    std::optional<std::uint32_t> weight{};
};

// Exactly one of `request` and `error` is meaningful.
struct DecodedRequest {
    std::optional<Request> request;
    std::string error;
};

// One JSON object without the trailing newline.
std::string encode_request(const Request& request);
// Validates shape, types, unknown keys and required arguments of one line.
DecodedRequest decode_request(std::string_view line);

struct Response {
    bool ok = true;
    nlohmann::json result;             // meaningful when ok
    std::string error;                 // meaningful when !ok
    std::vector<std::string> details;  // e.g. every diagnostic of a failed reload
};

Response success(nlohmann::json result);
Response failure(std::string error, std::vector<std::string> details = {});

std::string encode_response(const Response& response);
// A malformed line becomes a failure response that says so.
Response decode_response(std::string_view line);

// ---- typed payloads ----

struct LastReload {
    std::string result;  // "none" (no reload yet), "ok" or "failed"
    std::int64_t unix_time = 0;
    std::string error;  // first diagnostic of the failure, "file:line:col: error: ..."
};

// One VIP's BGP announcement (only with a `bgp:` section).
struct AnnouncementInfo {
    std::string vip;
    std::string state;         // "announced", "hold-down" or "withdrawn"
    std::uint32_t usable = 0;  // backends getting new flows (the service furthest from its minimum)
    std::uint32_t needed = 0;  // min_healthy_backends
    std::int64_t seconds_in_state = 0;
    std::int64_t announce_in_seconds = 0;  // hold-down: time left
    std::vector<std::string> services;
};

struct BgpSessionInfo {
    std::string protocol;  // BIRD protocol name
    std::string neighbour;
    std::string state;  // BIRD's: "Established", "Active", ... or "unknown"
};

// One catalogue interface as julierd sees it now.
struct InterfaceState {
    std::string name;
    bool attached = false;         // the forwarder runs there now
    std::uint64_t reattached = 0;  // times it came back (or lost the program) and was re-attached
    std::string note;              // why it is not attached, or the last change
};

struct Status {
    std::string version;
    std::int64_t pid = 0;
    std::int64_t uptime_seconds = 0;
    std::string config_file;
    std::uint64_t config_generation = 0;
    std::uint32_t dataplane_generation = 0;
    LastReload last_reload;
    std::uint64_t reload_failures = 0;
    std::string pin_dir;
    std::vector<std::string> interfaces;
    std::vector<InterfaceState> interface_states;  // same order as interfaces
    std::uint64_t services = 0;
    std::uint64_t backends = 0;
    bool adopted = false;    // the dataplane was adopted from pins at start
    bool bgp = false;        // a `bgp:` section is configured
    std::string bird_error;  // the last failure talking to BIRD, empty when the last exchange worked
    std::vector<AnnouncementInfo> announcements;
    std::vector<BgpSessionInfo> bgp_sessions;
    // What the operator set at run time, one backend each: "web 198.18.0.21: weight 3, maint"
    std::vector<std::string> operator_overrides;
};

struct ServiceInfo {
    std::string name;
    std::string vip;
    std::uint16_t port = 0;
    std::string protocol;
    std::string forwarding;
    std::uint32_t ring_size = 0;  // as applied: 0 when the service drops
    std::uint64_t backends = 0;
    std::uint64_t backends_in_ring = 0;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t new_flows = 0;
    std::string when_all_down = "drop";  // "drop" or "keep" (fail open)
    std::uint64_t nonsyn_miss = 0;       // TCP packets that opened nothing and found no entry
};

struct BackendInfo {
    std::string service;
    std::string address;
    std::uint32_t weight = 0;      // in force: the catalogue's, or the operator's (weight_source)
    std::uint32_t weight_now = 0;  // in the ring now (0 when draining, down or in maint)
    // "up", "down" or "unknown", as the plan decided it (an unchecked backend is up)
    health::State health = health::State::unknown;
    std::string health_reason;  // why the last transition happened
    // "active", "drain", "pending" (no health verdict yet), "down" or "maint" (forced
    // down by the operator) (plan::state_word)
    plan::BackendRole state = plan::BackendRole::down;
    std::string drain_source;  // "", "config" or "operator"
    std::string problem;       // why it cannot be forwarded to (e.g. no ARP answer)
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t new_flows = 0;      // connection table writes that picked this backend
    std::uint32_t config_weight = 0;  // the catalogue's
    std::string weight_source{};      // "config" or "operator" (julierctl weight)
    std::string state_source{};       // "config" or "operator" (julierctl drain, undrain, maint)
};

// One change of a reload (plan/diff.h, plan::Change): `kind` is "service_added",
// "service_removed", "service_changed", "backend_added", "backend_removed",
// "backend_changed", "ring_moved", "vip_announced", "vip_withdrawn",
// "interface_added", "interface_removed" or "setting_changed".
struct ChangeInfo {
    std::string kind;
    std::string service;
    std::string backend;
    std::string field;
    std::string from;
    std::string to;
    double moved = 0;  // ring_moved: share of the service's new flows that change backend
    std::uint32_t old_size = 0;
    std::uint32_t new_size = 0;
};

struct ReloadResult {
    std::uint64_t config_generation = 0;
    std::uint32_t dataplane_generation = 0;
    std::vector<std::string> warnings;
    bool dry_run = false;             // nothing was applied; the generations are the running ones
    std::vector<ChangeInfo> changes;  // what changed (dry run: what would change)
};

// The answer of drain, undrain, weight, maint and ready.
struct DrainResult {
    bool changed = false;  // false: it already was so
    BackendInfo backend;   // as it is now
};

// `flows`: connection-table entries per service and per backend, counted by one walk
// of the whole table.
struct ServiceFlows {
    std::string service;
    std::string vip;
    std::uint16_t port = 0;
    std::string protocol;
    std::uint64_t flows = 0;
};

struct BackendFlows {
    std::string service;
    std::string backend;
    plan::BackendRole state = plan::BackendRole::down;
    std::uint64_t flows = 0;
};

struct FlowsResult {
    std::vector<ServiceFlows> services;
    std::vector<BackendFlows> backends;
    std::uint64_t entries = 0;    // in the whole table
    std::uint64_t unplanned = 0;  // of a service or backend id the live plan does not name
    std::uint32_t max_flows = 0;  // the table's size (limits.max_flows)
};

// `flows` with list: one entry of the connection table.
struct FlowInfo {
    std::string protocol;            // "tcp", "udp"
    std::string client;              // "198.18.0.10:40000", "[2001:db8::10]:40000"
    std::string vip;                 // the flow's destination, as the client sent it
    std::string service;             // "" when the live plan names no such service id
    std::string backend;             // "" when the live plan names no such backend id
    std::int64_t idle_seconds = -1;  // since the forwarder last saw the flow; -1 = not known
    std::string state;               // "" = not known
};

struct FlowList {
    std::vector<FlowInfo> flows;
    std::string next;           // cursor of the next page (for `after`); "" when the table ended
    std::uint64_t scanned = 0;  // entries looked at for this page
};

struct WhichResult {
    std::string service;        // "" when no service takes the flow (the forwarder passes it)
    std::string backend;        // where its next packet goes; "" when the service drops it
    std::string chosen_by;      // "entry" (connection table), "ring" (a new flow's pick) or "none"
    std::string entry_backend;  // the connection table's entry, "" without one
    bool entry_kept = false;    // that backend still takes the flow
    std::string ring_backend;   // the ring's pick for a new flow
    std::uint32_t hash = 0;     // the ring hash, of what hash_input names
    std::string hash_input;     // the service's `hash`: "5tuple", "source", "no_source_port", "destination_port"
    std::uint32_t dataplane_generation = 0;
};

struct PurgeResult {
    std::string service;
    std::string backend;  // "" = every backend of the service
    std::uint64_t removed = 0;
};

struct TeardownResult {
    std::vector<std::string> detached;  // interfaces
    std::string pin_dir;                // removed
};

void to_json(nlohmann::json& j, const LastReload& v);
void from_json(const nlohmann::json& j, LastReload& v);
void to_json(nlohmann::json& j, const AnnouncementInfo& v);
void from_json(const nlohmann::json& j, AnnouncementInfo& v);
void to_json(nlohmann::json& j, const BgpSessionInfo& v);
void from_json(const nlohmann::json& j, BgpSessionInfo& v);
void to_json(nlohmann::json& j, const InterfaceState& v);
void from_json(const nlohmann::json& j, InterfaceState& v);
void to_json(nlohmann::json& j, const Status& v);
void from_json(const nlohmann::json& j, Status& v);
void to_json(nlohmann::json& j, const ServiceInfo& v);
void from_json(const nlohmann::json& j, ServiceInfo& v);
void to_json(nlohmann::json& j, const BackendInfo& v);
void from_json(const nlohmann::json& j, BackendInfo& v);
void to_json(nlohmann::json& j, const ChangeInfo& v);
void from_json(const nlohmann::json& j, ChangeInfo& v);
void to_json(nlohmann::json& j, const ReloadResult& v);
void from_json(const nlohmann::json& j, ReloadResult& v);
void to_json(nlohmann::json& j, const DrainResult& v);
void from_json(const nlohmann::json& j, DrainResult& v);
void to_json(nlohmann::json& j, const ServiceFlows& v);
void from_json(const nlohmann::json& j, ServiceFlows& v);
void to_json(nlohmann::json& j, const BackendFlows& v);
void from_json(const nlohmann::json& j, BackendFlows& v);
void to_json(nlohmann::json& j, const FlowsResult& v);
void from_json(const nlohmann::json& j, FlowsResult& v);
void to_json(nlohmann::json& j, const FlowInfo& v);
void from_json(const nlohmann::json& j, FlowInfo& v);
void to_json(nlohmann::json& j, const FlowList& v);
void from_json(const nlohmann::json& j, FlowList& v);
void to_json(nlohmann::json& j, const WhichResult& v);
void from_json(const nlohmann::json& j, WhichResult& v);
void to_json(nlohmann::json& j, const PurgeResult& v);
void from_json(const nlohmann::json& j, PurgeResult& v);
void to_json(nlohmann::json& j, const TeardownResult& v);
void from_json(const nlohmann::json& j, TeardownResult& v);

}  // namespace julier::daemon::protocol
