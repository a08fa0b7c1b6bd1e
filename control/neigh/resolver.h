// Link-layer next hops of backends: the interface the planner sees. The kernel's
// routing and neighbour tables answer it in production (NetlinkResolver); tests
// inject answers with StaticResolver.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"

namespace julier::neigh {

using MacAddress = std::array<std::uint8_t, 6>;

// "02:00:00:00:00:01".
std::string to_string(const MacAddress& mac);

// Where a packet to one destination leaves this host.
struct NextHop {
    MacAddress dst_mac{};       // the destination's own, or its gateway's
    MacAddress src_mac{};       // ours on the egress device
    std::uint32_t ifindex = 0;  // egress device
    std::string ifname;
    std::optional<common::IpAddress> gateway;  // set when the route goes via a router
    std::optional<common::IpAddress> source;   // the route's preferred source address

    bool operator==(const NextHop&) const = default;
};

// Exactly one of `next_hop` and `error` is meaningful.
struct Resolution {
    std::optional<NextHop> next_hop;
    std::string error;  // e.g. "no route to 198.18.0.9", "198.18.0.9 did not answer ARP on eth0"

    bool ok() const { return next_hop.has_value(); }
    bool operator==(const Resolution&) const = default;
};

class Resolver {
public:
    virtual ~Resolver() = default;
    // Resolves every destination; one answer per distinct destination. May block
    // for a bounded time while the kernel asks the network (ARP / neighbour
    // discovery) for destinations it does not know yet.
    virtual std::map<common::IpAddress, Resolution> resolve(const std::vector<common::IpAddress>& destinations) = 0;
};

// Answers from a fixed table; anything not in it is "unresolvable".
class StaticResolver final : public Resolver {
public:
    explicit StaticResolver(std::map<common::IpAddress, NextHop> table = {});
    void set(const common::IpAddress& destination, NextHop next_hop);
    void remove(const common::IpAddress& destination);

    std::map<common::IpAddress, Resolution> resolve(const std::vector<common::IpAddress>& destinations) override;

private:
    std::map<common::IpAddress, NextHop> table_;
};

}  // namespace julier::neigh
