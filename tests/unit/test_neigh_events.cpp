// decode_events: rtnetlink notifications as the kernel frames them (built here byte
// by byte with the uapi structs), several per datagram, junk skipped.
#include <net/if.h>

#include <linux/if_arp.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "neigh/events.h"

using julier::common::IpAddress;
using julier::neigh::decode_events;
using julier::neigh::LinkEvent;

namespace {

// Appends one message: header, fixed struct, attributes (each RTA-aligned).
class Datagram {
public:
    template <typename Fixed>
    Datagram& message(std::uint16_t type, const Fixed& fixed) {
        start_ = bytes_.size();
        bytes_.resize(start_ + NLMSG_SPACE(sizeof(Fixed)));
        auto* h = header();
        h->nlmsg_type = type;
        h->nlmsg_len = NLMSG_LENGTH(sizeof(Fixed));
        std::memcpy(bytes_.data() + start_ + NLMSG_HDRLEN, &fixed, sizeof(Fixed));
        h->nlmsg_len = static_cast<std::uint32_t>(bytes_.size() - start_);
        return *this;
    }
    Datagram& attribute(std::uint16_t type, const void* data, std::size_t len) {
        const std::size_t at = bytes_.size();
        bytes_.resize(at + RTA_SPACE(len));
        rtattr rta{static_cast<unsigned short>(RTA_LENGTH(len)), type};
        std::memcpy(bytes_.data() + at, &rta, sizeof(rta));
        std::memcpy(bytes_.data() + at + RTA_LENGTH(0), data, len);
        header()->nlmsg_len = static_cast<std::uint32_t>(bytes_.size() - start_);
        return *this;
    }
    Datagram& name(const std::string& n) { return attribute(IFLA_IFNAME, n.c_str(), n.size() + 1); }
    const std::vector<std::uint8_t>& bytes() const { return bytes_; }

private:
    nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(bytes_.data() + start_); }
    std::vector<std::uint8_t> bytes_;
    std::size_t start_ = 0;
};

ifinfomsg link(int index, unsigned flags) {
    ifinfomsg i{};
    i.ifi_family = AF_UNSPEC;
    i.ifi_type = ARPHRD_ETHER;
    i.ifi_index = index;
    i.ifi_flags = flags;
    return i;
}

ndmsg neighbour(int family, int index, std::uint16_t state) {
    ndmsg n{};
    n.ndm_family = static_cast<std::uint8_t>(family);
    n.ndm_ifindex = index;
    n.ndm_state = state;
    return n;
}

}  // namespace

TEST_CASE("neigh events: link added and removed, several messages in one datagram", "[neigh][events]") {
    Datagram d;
    d.message(RTM_NEWLINK, link(7, IFF_UP)).name("eth0");
    d.message(RTM_DELLINK, link(3, 0)).name("eth1");
    const auto events = decode_events(d.bytes().data(), d.bytes().size());
    REQUIRE(events.links.size() == 2);
    CHECK(events.links[0].kind == LinkEvent::Kind::added_or_changed);
    CHECK(events.links[0].name == "eth0");
    CHECK(events.links[0].ifindex == 7);
    CHECK(events.links[0].up);
    CHECK(events.links[1].kind == LinkEvent::Kind::removed);
    CHECK(events.links[1].name == "eth1");
    CHECK_FALSE(events.links[1].up);
    CHECK(events.neighbours.empty());
}

TEST_CASE("neigh events: a neighbour's address and MAC, usable only in a state with a MAC", "[neigh][events]") {
    const std::uint8_t v4[4] = {198, 18, 0, 21};
    const std::uint8_t mac[6] = {0x02, 0, 0, 0, 0x15, 0x21};
    std::uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
    v6[15] = 0x21;
    Datagram d;
    d.message(RTM_NEWNEIGH, neighbour(AF_INET, 4, NUD_REACHABLE))
        .attribute(NDA_DST, v4, 4)
        .attribute(NDA_LLADDR, mac, 6);
    d.message(RTM_NEWNEIGH, neighbour(AF_INET6, 4, NUD_INCOMPLETE)).attribute(NDA_DST, v6, 16);
    d.message(RTM_DELNEIGH, neighbour(AF_INET, 4, NUD_STALE)).attribute(NDA_DST, v4, 4).attribute(NDA_LLADDR, mac, 6);
    const auto events = decode_events(d.bytes().data(), d.bytes().size());
    REQUIRE(events.neighbours.size() == 3);
    CHECK(events.neighbours[0].address == *IpAddress::parse("198.18.0.21"));
    CHECK(events.neighbours[0].ifindex == 4);
    REQUIRE(events.neighbours[0].mac.has_value());
    CHECK((*events.neighbours[0].mac)[5] == 0x21);
    CHECK(events.neighbours[0].usable());
    CHECK(events.neighbours[1].address == *IpAddress::parse("2001:db8::21"));
    CHECK_FALSE(events.neighbours[1].usable());  // incomplete, no MAC
    CHECK(events.neighbours[2].removed);
    CHECK_FALSE(events.neighbours[2].usable());
}

TEST_CASE("neigh events: other messages, bad lengths and truncation are skipped", "[neigh][events]") {
    const std::uint8_t short_dst[3] = {198, 18, 0};
    Datagram d;
    d.message(RTM_NEWROUTE, rtmsg{});
    d.message(RTM_NEWNEIGH, neighbour(AF_INET, 4, NUD_REACHABLE)).attribute(NDA_DST, short_dst, 3);
    d.message(RTM_NEWNEIGH, neighbour(AF_BRIDGE, 4, NUD_REACHABLE));
    d.message(RTM_NEWLINK, link(9, IFF_UP)).name("eth9");
    auto events = decode_events(d.bytes().data(), d.bytes().size());
    CHECK(events.neighbours.empty());
    REQUIRE(events.links.size() == 1);
    CHECK(events.links[0].name == "eth9");
    // The last message cut short: only what precedes it is decoded.
    events = decode_events(d.bytes().data(), d.bytes().size() - 4);
    CHECK(events.links.empty());
    CHECK(decode_events(d.bytes().data(), 3).links.empty());
}
