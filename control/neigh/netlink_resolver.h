// Resolver backed by the kernel: rtnetlink RTM_GETROUTE gives the next hop and the
// egress device, RTM_GETNEIGH its MAC, RTM_GETLINK our MAC on that device.
//
// A next hop the kernel has no usable neighbour entry for is asked for with an
// RTM_NEWNEIGH carrying NTF_USE: the kernel creates the entry and sends ARP /
// neighbour solicitation itself, exactly as for a packet of its own, and no packet
// reaches the backend. resolve() then polls the neighbour table until every such
// next hop answered or `wait` ran out.
#pragma once

#include <chrono>
#include <map>
#include <vector>

#include "common/ip.h"
#include "neigh/resolver.h"

namespace julier::neigh {

class NetlinkResolver final : public Resolver {
public:
    struct Options {
        // How long resolve() waits for unanswered ARP / neighbour solicitations.
        std::chrono::milliseconds wait{1000};
        std::chrono::milliseconds poll_interval{20};
    };

    NetlinkResolver();
    explicit NetlinkResolver(Options options);

    std::map<common::IpAddress, Resolution> resolve(const std::vector<common::IpAddress>& destinations) override;

private:
    Options options_;
};

}  // namespace julier::neigh
