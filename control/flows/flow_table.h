// The connection table (jl_flows) as the control plane sees it, between the map walk
// (an I/O edge, dataplane/) and what julierctl and the metrics show. Pure.
//
//   - FlowValue: what julier reads from an entry's value (flow_value(), the one place
//     that knows the value's fields);
//   - Census: entries counted per service and backend id;
//   - Pager: one bounded page of entries out of a walk, with the cursor to resume it;
//   - flow tuples: "tcp 198.18.0.10:40000 198.19.0.1:80" as a jl_flow_key and back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ip.h"
#include "julier/abi.h"

namespace julier::flows {

// What an entry's value says. Only backend_id and service_id exist in this ABI; the
// rest is what a newer value may carry (last-seen time, state) and stays unset until
// flow_value() reads it.
struct FlowValue {
    std::uint32_t backend_id = 0;
    std::uint32_t service_id = 0;
    std::optional<std::uint64_t> idle_ns;  // UDP: time since the forwarder last saw the flow
    // TCP: "established", "closing" (a FIN seen, in its linger), "reset" (an RST seen,
    // in its linger); UDP: "udp".
    std::string state;

    bool operator==(const FlowValue&) const = default;
};

// The one reading of a jl_flows value: every other field of struct jl_flow is read
// here and nowhere else. `now_ns` is CLOCK_MONOTONIC, the fine
// reading of the forwarder's CLOCK_MONOTONIC_COARSE (ahead of it by less than a tick).
FlowValue flow_value(const jl_flow_key& key, const jl_flow& value, std::uint64_t now_ns);

struct FlowEntry {
    jl_flow_key key{};
    FlowValue value;
};

// Entries per (service id, backend id), as a walk found them.
struct Census {
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t> per_backend;
    std::uint64_t entries = 0;

    void add(const FlowValue& value);
    void add(std::span<const FlowEntry> entries);
    std::uint64_t of_service(std::uint32_t service_id) const;
    std::uint64_t of_backend(std::uint32_t service_id, std::uint32_t backend_id) const;
};

// Which entries a command is about: all, a service's, or one backend's of a service.
struct Filter {
    std::optional<std::uint32_t> service_id;
    std::optional<std::uint32_t> backend_id;

    bool matches(const FlowValue& value) const {
        return (!service_id || value.service_id == *service_id) && (!backend_id || value.backend_id == *backend_id);
    }
};

// A position in a walk of the table: the batch token to start at (none: the table's
// start) and how many entries from there were already passed. A hash map's batch
// token is a bucket, so the position holds while the table changes; entries made or
// removed meanwhile may be missed or seen twice, as in any walk of a live table.
struct Cursor {
    std::optional<std::uint32_t> token;
    std::uint64_t skip = 0;

    std::string to_string() const;  // "b<token>.<skip>", or "start.<skip>" without a token
    static std::optional<Cursor> parse(std::string_view text);
    bool operator==(const Cursor&) const = default;
};

// Collects one page of the entries a filter selects from a walk that starts at a
// cursor: at most `limit` entries whose `cost` (e.g. encoded bytes) sums to at most
// `budget`. Feed it the walk's batches in order; it says when to stop.
class Pager {
public:
    Pager(Cursor start, Filter filter, std::size_t limit, std::size_t budget,
          std::function<std::size_t(const FlowEntry&)> cost);

    // One batch of the walk, read at `token` (the token the previous batch returned,
    // or the start's); `next` is the token after it, none when the walk ended.
    // Returns false once the page is complete (stop walking).
    bool add(std::optional<std::uint32_t> token, std::span<const FlowEntry> batch, std::optional<std::uint32_t> next);

    const std::vector<FlowEntry>& entries() const { return entries_; }
    // Where the next page starts; none when the walk reached the table's end.
    const std::optional<Cursor>& next() const { return next_; }
    std::uint64_t scanned() const { return scanned_; }

private:
    Cursor at_;  // the next entry not yet looked at
    Filter filter_;
    std::size_t limit_;
    std::size_t budget_;
    std::size_t used_ = 0;
    std::function<std::size_t(const FlowEntry&)> cost_;
    std::vector<FlowEntry> entries_;
    std::optional<Cursor> next_;
    std::uint64_t scanned_ = 0;
    bool done_ = false;
};

// ---- flow tuples -------------------------------------------------------------------

using common::Endpoint;  // "198.18.0.10:40000" or "[2001:db8::10]:40000"

// "tcp" -> IPPROTO_TCP, "udp" -> IPPROTO_UDP.
std::optional<std::uint8_t> parse_protocol(std::string_view text);
std::string protocol_text(std::uint8_t proto);

// The connection table's key of a flow as the client sends it. Both families must match.
jl_flow_key make_key(std::uint8_t proto, const Endpoint& client, const Endpoint& vip);
common::IpAddress key_source(const jl_flow_key& key);
common::IpAddress key_destination(const jl_flow_key& key);

}  // namespace julier::flows
