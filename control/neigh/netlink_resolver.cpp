#include "neigh/netlink_resolver.h"

#include <net/if.h>
#include <net/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <thread>
#include <utility>

#include "neigh/rtnetlink.h"

namespace julier::neigh {

namespace {

// States in which the entry holds a MAC the kernel itself would send to.
constexpr std::uint16_t kUsable = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;

std::string protocol_name(const common::IpAddress& address) {
    return address.is_v4() ? "ARP" : "neighbour solicitation";
}

std::string route_type_problem(std::uint8_t type, const common::IpAddress& destination) {
    switch (type) {
        case RTN_UNICAST: return "";
        case RTN_LOCAL: return destination.to_string() + " is an address of this host";
        case RTN_BLACKHOLE: return "the route to " + destination.to_string() + " is a blackhole";
        case RTN_UNREACHABLE: return "the route to " + destination.to_string() + " is unreachable";
        case RTN_PROHIBIT: return "the route to " + destination.to_string() + " is prohibited";
        default: return "the route to " + destination.to_string() + " is not a unicast route";
    }
}

// A destination on its way to an answer.
struct Pending {
    common::IpAddress hop;  // the destination itself, or its gateway
    NextHop next_hop;       // everything but dst_mac
};

Resolution unanswered(const common::IpAddress& destination, const Pending& entry, const std::string& how_long) {
    std::string who = entry.hop == destination
                          ? destination.to_string()
                          : "gateway " + entry.hop.to_string() + " (towards " + destination.to_string() + ")";
    return Resolution{std::nullopt,
                      who + " did not answer " + protocol_name(entry.hop) + " on " + entry.next_hop.ifname + how_long};
}

}  // namespace

NetlinkResolver::NetlinkResolver() : NetlinkResolver(Options{}) {}

NetlinkResolver::NetlinkResolver(Options options) : options_(options) {}

std::map<common::IpAddress, Resolution> NetlinkResolver::resolve(const std::vector<common::IpAddress>& destinations) {
    std::map<common::IpAddress, Resolution> result;
    std::map<common::IpAddress, Pending> pending;
    RtNetlink rtnl;

    for (const common::IpAddress& destination : destinations) {
        if (result.contains(destination) || pending.contains(destination)) {
            continue;
        }
        try {
            Route route = rtnl.get_route(destination);
            if (std::string problem = route_type_problem(route.type, destination); !problem.empty()) {
                result[destination] = Resolution{std::nullopt, problem};
                continue;
            }
            Link link = rtnl.get_link(route.oif);
            if (link.type != ARPHRD_ETHER || !link.has_mac || (link.flags & IFF_NOARP)) {
                result[destination] =
                    Resolution{std::nullopt, "the route to " + destination.to_string() + " leaves through " +
                                                 link.name + ", which is not an Ethernet device with ARP"};
                continue;
            }
            Pending entry;
            entry.hop = route.gateway.value_or(destination);
            entry.next_hop.src_mac = link.mac;
            entry.next_hop.ifindex = route.oif;
            entry.next_hop.ifname = link.name;
            entry.next_hop.gateway = route.gateway;
            entry.next_hop.source = route.prefsrc;

            std::optional<Neighbour> neighbour = rtnl.get_neighbour(entry.hop, route.oif);
            if (neighbour && (neighbour->state & kUsable) && neighbour->mac) {
                entry.next_hop.dst_mac = *neighbour->mac;
                result[destination] = Resolution{entry.next_hop, ""};
                continue;
            }
            rtnl.request_resolution(entry.hop, route.oif);
            pending.emplace(destination, std::move(entry));
        } catch (const NetlinkError& e) {
            result[destination] =
                Resolution{std::nullopt, "cannot find the route to " + destination.to_string() + ": " + e.what()};
        }
    }

    // Poll rather than subscribe: a handful of lookups per interval is cheap, and
    // nothing can be missed between a subscription and the first request.
    auto deadline = std::chrono::steady_clock::now() + options_.wait;
    while (!pending.empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(options_.poll_interval);
        for (auto it = pending.begin(); it != pending.end();) {
            auto& [destination, entry] = *it;
            std::optional<Neighbour> neighbour;
            try {
                neighbour = rtnl.get_neighbour(entry.hop, entry.next_hop.ifindex);
            } catch (const NetlinkError& e) {
                result[destination] = Resolution{std::nullopt, std::string("neighbour lookup: ") + e.what()};
                it = pending.erase(it);
                continue;
            }
            if (neighbour && (neighbour->state & kUsable) && neighbour->mac) {
                entry.next_hop.dst_mac = *neighbour->mac;
                result[destination] = Resolution{entry.next_hop, ""};
                it = pending.erase(it);
            } else if (neighbour && (neighbour->state & NUD_FAILED)) {
                // The kernel gave up on its probes; waiting longer changes nothing.
                result[destination] = unanswered(destination, entry, "");
                it = pending.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto& [destination, entry] : pending) {
        result[destination] =
            unanswered(destination, entry, " within " + std::to_string(options_.wait.count()) + " ms");
    }
    return result;
}

}  // namespace julier::neigh
