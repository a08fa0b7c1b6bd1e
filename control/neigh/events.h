// rtnetlink notifications the daemon reacts to, decoded from the bytes of one
// datagram (pure, so tests feed it crafted messages): links that appear, change or
// vanish, and neighbour entries that learnt a link-layer address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"
#include "neigh/resolver.h"

namespace julier::neigh {

struct LinkEvent {
    enum class Kind { added_or_changed, removed } kind = Kind::added_or_changed;
    std::uint32_t ifindex = 0;
    std::string name;  // IFLA_IFNAME, empty when the message had none
    bool up = false;   // IFF_UP
};

struct NeighbourEvent {
    common::IpAddress address;
    std::uint32_t ifindex = 0;
    std::uint16_t state = 0;        // NUD_*
    std::optional<MacAddress> mac;  // NDA_LLADDR of Ethernet length
    bool removed = false;           // RTM_DELNEIGH
    // A state that forwarding can use (reachable, stale, delay, probe, permanent, noarp).
    bool usable() const;
};

struct NetlinkEvents {
    std::vector<LinkEvent> links;
    std::vector<NeighbourEvent> neighbours;
};

// Decodes every RTM_NEWLINK / RTM_DELLINK / RTM_NEWNEIGH / RTM_DELNEIGH message of
// one datagram; other and truncated messages are skipped.
NetlinkEvents decode_events(const void* data, std::size_t length);

}  // namespace julier::neigh
