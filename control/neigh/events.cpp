#include "neigh/events.h"

// glibc's net/if.h before the uapi headers, which then skip their copy of IFF_*.
#include <net/if.h>

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

namespace julier::neigh {

namespace {

template <typename Fn>
void for_each_attribute(const nlmsghdr* header, std::size_t fixed_len, Fn fn) {
    const auto* rta =
        reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(NLMSG_DATA(header)) + NLMSG_ALIGN(fixed_len));
    int remaining = static_cast<int>(header->nlmsg_len) - static_cast<int>(NLMSG_SPACE(fixed_len));
    for (; RTA_OK(rta, remaining); rta = RTA_NEXT(rta, remaining)) {
        fn(rta->rta_type, RTA_DATA(rta), RTA_PAYLOAD(rta));
    }
}

void decode_link(const nlmsghdr* header, NetlinkEvents& out) {
    if (header->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return;
    ifinfomsg info;
    std::memcpy(&info, NLMSG_DATA(header), sizeof(info));
    LinkEvent event;
    event.kind = header->nlmsg_type == RTM_DELLINK ? LinkEvent::Kind::removed : LinkEvent::Kind::added_or_changed;
    event.ifindex = static_cast<std::uint32_t>(info.ifi_index);
    event.up = (info.ifi_flags & IFF_UP) != 0;
    for_each_attribute(header, sizeof(ifinfomsg), [&](unsigned type, const void* data, std::size_t len) {
        if (type == IFLA_IFNAME && len > 0) {
            event.name.assign(static_cast<const char*>(data), strnlen(static_cast<const char*>(data), len));
        }
    });
    out.links.push_back(std::move(event));
}

void decode_neighbour(const nlmsghdr* header, NetlinkEvents& out) {
    if (header->nlmsg_len < NLMSG_LENGTH(sizeof(ndmsg))) return;
    ndmsg nd;
    std::memcpy(&nd, NLMSG_DATA(header), sizeof(nd));
    if (nd.ndm_family != AF_INET && nd.ndm_family != AF_INET6) return;
    NeighbourEvent event;
    event.ifindex = static_cast<std::uint32_t>(nd.ndm_ifindex);
    event.state = nd.ndm_state;
    event.removed = header->nlmsg_type == RTM_DELNEIGH;
    bool has_address = false;
    for_each_attribute(header, sizeof(ndmsg), [&](unsigned type, const void* data, std::size_t len) {
        if (type == NDA_DST) {
            const std::size_t want = nd.ndm_family == AF_INET ? 4 : 16;
            if (len != want) return;
            event.address.family = nd.ndm_family == AF_INET ? 4 : 6;
            std::memcpy(event.address.bytes.data(), data, len);
            has_address = true;
        } else if (type == NDA_LLADDR && len == 6) {
            MacAddress mac;
            std::memcpy(mac.data(), data, 6);
            event.mac = mac;
        }
    });
    if (has_address) out.neighbours.push_back(std::move(event));
}

}  // namespace

bool NeighbourEvent::usable() const {
    constexpr std::uint16_t kUsable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;
    return !removed && (state & kUsable) != 0 && mac.has_value();
}

NetlinkEvents decode_events(const void* data, std::size_t length) {
    NetlinkEvents out;
    const auto* header = static_cast<const nlmsghdr*>(data);
    int remaining = static_cast<int>(length);
    for (; NLMSG_OK(header, remaining); header = NLMSG_NEXT(header, remaining)) {
        switch (header->nlmsg_type) {
            case RTM_NEWLINK:
            case RTM_DELLINK: decode_link(header, out); break;
            case RTM_NEWNEIGH:
            case RTM_DELNEIGH: decode_neighbour(header, out); break;
            default: break;
        }
    }
    return out;
}

}  // namespace julier::neigh
