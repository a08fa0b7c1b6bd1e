// The bytes each forwarding mode puts in front of a client's packet: what the
// forwarder's jl_encap_overhead adds, for rules that depend on it (the smallest
// valid mtu of an IPv6 VIP). A BPF fixture checks both agree.
#pragma once

#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>

#include <cstdint>
#include <optional>

#include "config/catalogue.h"
#include "julier/abi.h"

namespace julier::config {

// nullopt where the mode cannot carry to that outer family (or does not
// encapsulate: l2).
constexpr std::optional<std::uint32_t> encap_overhead(Forwarding mode, int outer_family) {
    const std::uint32_t outer = outer_family == 6 ? sizeof(ip6_hdr) : sizeof(iphdr);
    switch (mode) {
        case Forwarding::l2: return std::nullopt;
        case Forwarding::ipip: return outer_family == 4 ? std::optional<std::uint32_t>(outer) : std::nullopt;
        case Forwarding::ip6ip6:
        case Forwarding::ip4in6: return outer_family == 6 ? std::optional<std::uint32_t>(outer) : std::nullopt;
        case Forwarding::gue: return outer + sizeof(udphdr) + JL_GUE_HEADER_BYTES;
    }
    return std::nullopt;
}

}  // namespace julier::config
