// ICMP (docs/forwarder.md, "Path MTU" and "ICMP errors"): packets that would exceed
// the MTU once encapsulated are answered with frag-needed / packet-too-big from the
// VIP, or dropped when IPv4 DF is clear; ICMP errors about a service's reply are
// forwarded to the backend that owns the flow.
#include <catch2/catch.hpp>

#include "config/encap_overhead.h"
#include "cpu_pin.h"
#include "lb_fixture.h"

using namespace julier::test;
using namespace julier::test::lbfix;

namespace {

constexpr const char* kRouter4 = "198.18.0.254";
constexpr const char* kRouter6 = "2001:db8:fe::1";

ServiceSpec tunnel(uint8_t mode, std::string vip, std::string backend_family, uint16_t mtu = 1500) {
    ServiceSpec s;
    s.mode = mode;
    s.vip = std::move(vip);
    s.backend_family = std::move(backend_family);
    s.slots = 7;
    s.mtu = mtu;
    return s;
}

// A client's TCP packet of ip_len bytes (IP header included).
Packet client_packet(std::string_view client, std::string_view vip, size_t ip_len, bool df = true,
                     std::optional<uint16_t> vlan = std::nullopt) {
    Packet p;
    p.eth(kLbMac, kPeerMac);
    if (vlan) p.vlan(*vlan);
    if (is_v6(client)) {
        p.ipv6(client, vip).tcp(40000, 80).payload_size(ip_len - 40 - 20);
    } else {
        p.ipv4(client, vip).df(df).tcp(40000, 80).payload_size(ip_len - 20 - 20);
    }
    return p;
}

Bytes ip_part(const Bytes& frame, size_t l3, size_t n) {
    return Bytes(frame.begin() + static_cast<long>(l3),
                 frame.begin() + static_cast<long>(std::min(frame.size(), l3 + n)));
}

// What the balancer must answer: from the VIP to the client, MACs swapped.
Bytes too_big_reply(const Bytes& in, std::string_view client, std::string_view vip, uint32_t mtu, size_t quote,
                    std::optional<uint16_t> vlan = std::nullopt) {
    size_t l3 = vlan ? 18 : 14;
    Packet p;
    p.eth(kPeerMac, kLbMac);
    if (vlan) p.vlan(*vlan);
    if (is_v6(client))
        p.ipv6(vip, client).ttl(64).icmp6(2, 0, mtu);
    else
        p.ipv4(vip, client).tos(0xc0).ttl(64).df().id(0).icmp4(3, 4, mtu);
    p.payload(ip_part(in, l3, quote));
    return p.build();
}

// The reply a service sent (VIP:80 -> client:40000), as an ICMP error quotes it.
Bytes quoted_reply(std::string_view vip, std::string_view client, size_t keep, uint8_t proto = IPPROTO_TCP,
                   uint16_t vip_port = 80) {
    Packet p;
    if (is_v6(vip))
        p.ipv6(vip, client);
    else
        p.ipv4(vip, client).df();
    if (proto == IPPROTO_TCP)
        p.tcp(vip_port, 40000).flags(kTcpAck);
    else
        p.udp(vip_port, 40000);
    p.payload_size(1300);
    Bytes b = p.build();
    b.resize(std::min(b.size(), keep));
    return b;
}

// An ICMP error from a router to the VIP address, as received or as forwarded.
void append_icmp_error(Packet& p, std::string_view vip, const Bytes& quote, uint8_t ttl, uint8_t type = 0) {
    if (is_v6(vip))
        p.ipv6(kRouter6, vip).ttl(ttl).icmp6(type ? type : 2, 0, 1400);
    else
        p.ipv4(kRouter4, vip).ttl(ttl).icmp4(type ? type : 3, type ? 0 : 4, type ? 0 : 1400);
    p.payload(quote);
}

Bytes icmp_error(std::string_view vip, const Bytes& quote, uint8_t type = 0) {
    Packet p;
    p.eth(kLbMac, kPeerMac);
    append_icmp_error(p, vip, quote, 60, type);
    return p.build();
}

}  // namespace

TEST_CASE("lb icmp: IPv4 with DF over the MTU gets frag-needed with the tunnel's MTU", "[lb][icmp]") {
    struct Case {
        const char* name;
        uint8_t mode;
        std::string family;
        uint32_t overhead;
    };
    const Case cases[] = {
        {"IPIP", JL_MODE_IPIP, "4", 20},
        {"IPv4 in IPv6", JL_MODE_IP4IN6, "6", 40},
        {"GUE over IPv4", JL_MODE_GUE, "4", 32},
        {"GUE over IPv6", JL_MODE_GUE, "6", 52},
    };
    for (const Case& c : cases) {
        for (bool tagged : {false, true}) {
            DYNAMIC_SECTION(c.name << (tagged ? ", tagged" : "")) {
                LbHarness lb;
                ServiceSpec s = tunnel(c.mode, kVip4, c.family);
                install(lb, s);
                std::optional<uint16_t> vlan;
                if (tagged) vlan = 9;
                // Exactly at the MTU: forwarded.
                Bytes fits = client_packet(kClient4, kVip4, 1500 - c.overhead, true, vlan).build();
                CHECK(lb.run(fits).verdict == XDP_TX);
                // One byte more: answered.
                Bytes big = client_packet(kClient4, kVip4, 1500 - c.overhead + 1, true, vlan).build();
                expect_run(lb, big, XDP_TX, too_big_reply(big, kClient4, kVip4, 1500 - c.overhead, 28, vlan),
                           JL_CNT_TX_ICMP_TOO_BIG);
                // Only the packet that fitted counts for the service and left a flow entry.
                CHECK(lb.service_stats(1).packets == 1);
                CHECK(lb.flow_keys().size() == 1);
            }
        }
    }
}

TEST_CASE("lb icmp: frag-needed quotes the IPv4 options too", "[lb][icmp]") {
    LbHarness lb;
    install(lb, tunnel(JL_MODE_IPIP, kVip4, "4", 1000));
    const uint8_t options[] = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};
    Bytes big = client_packet(kClient4, kVip4, 1200).ip_options(options).build();
    expect_run(lb, big, XDP_TX, too_big_reply(big, kClient4, kVip4, 980, 28 + sizeof(options)), JL_CNT_TX_ICMP_TOO_BIG);
}

TEST_CASE("lb icmp: IPv4 without DF over the MTU is dropped (the balancer does not fragment)", "[lb][icmp]") {
    LbHarness lb;
    install(lb, tunnel(JL_MODE_GUE, kVip4, "6"));
    expect_drop(lb, client_packet(kClient4, kVip4, 1480, false).build(), JL_CNT_DROP_TOO_BIG);
    CHECK(lb.flow_keys().empty());
    // A later fragment (DF is never set on fragments) too.
    Bytes frag = Packet()
                     .eth(kLbMac, kPeerMac)
                     .ipv4(kClient4, kVip4)
                     .frag_offset(185)
                     .ip_proto(IPPROTO_TCP)
                     .payload_size(1460)
                     .build();
    expect_drop(lb, frag, JL_CNT_DROP_TOO_BIG);
}

TEST_CASE("lb icmp: IPv6 over the MTU gets packet-too-big quoting what fits in 1280 bytes", "[lb][icmp]") {
    struct Case {
        const char* name;
        uint8_t mode;
        std::string family;
        uint32_t overhead;
    };
    const Case cases[] = {
        {"IPv6 in IPv6", JL_MODE_IP6IP6, "6", 40},
        {"GUE over IPv4", JL_MODE_GUE, "4", 32},
        {"GUE over IPv6", JL_MODE_GUE, "6", 52},
    };
    for (const Case& c : cases) {
        for (bool tagged : {false, true}) {
            DYNAMIC_SECTION(c.name << (tagged ? ", tagged" : "")) {
                LbHarness lb;
                std::optional<uint16_t> vlan;
                if (tagged) vlan = 4094;
                // A large packet: the quote is cut to 1280 - 40 - 8 bytes.
                install(lb, tunnel(c.mode, kVip6, c.family));
                Bytes big = client_packet(kClient6, kVip6, 1500 - c.overhead + 1, true, vlan).build();
                CHECK(lb.run(client_packet(kClient6, kVip6, 1500 - c.overhead, true, vlan).build()).verdict == XDP_TX);
                expect_run(lb, big, XDP_TX, too_big_reply(big, kClient6, kVip6, 1500 - c.overhead, 1232, vlan),
                           JL_CNT_TX_ICMP_TOO_BIG);
            }
        }
    }
    SECTION("a small MTU (below what configuration accepts): 1280 advertised, the answer no larger than the packet") {
        LbHarness lb;
        install(lb, tunnel(JL_MODE_IP6IP6, kVip6, "6", 700));
        Bytes big = client_packet(kClient6, kVip6, 701).build();
        expect_run(lb, big, XDP_TX, too_big_reply(big, kClient6, kVip6, 1280, 701 - 48), JL_CNT_TX_ICMP_TOO_BIG);
        CHECK(lb.flow_keys().empty());
    }
    SECTION("a quote shorter than a VLAN tag: a UDP packet of 2 bytes over a tiny MTU") {
        for (bool tagged : {false, true}) {
            LbHarness lb;
            ServiceSpec s = tunnel(JL_MODE_IP6IP6, kVip6, "6", 40);
            s.proto = IPPROTO_UDP;
            install(lb, s);
            std::optional<uint16_t> vlan;
            if (tagged) vlan = 4094;
            Packet p;
            p.eth(kLbMac, kPeerMac);
            if (vlan) p.vlan(*vlan);
            p.ipv6(kClient6, kVip6).udp(40000, 80).payload_size(2);
            Bytes small = p.build();
            // 50 bytes of IPv6: the answer, no larger, quotes 50 - 40 - 8 = 2 of them. The
            // checksum walker cannot parse a 2-byte quote; the expected frame's ICMPv6
            // checksum is the packet builder's, so the byte comparison checks it.
            expect_run(lb, small, XDP_TX, too_big_reply(small, kClient6, kVip6, 1280, 2, vlan), JL_CNT_TX_ICMP_TOO_BIG,
                       /*verify_sums=*/false);
        }
    }
    SECTION("odd lengths") {
        LbHarness lb;
        install(lb, tunnel(JL_MODE_GUE, kVip6, "4", 1000));
        for (size_t len : {1001, 1003, 1233, 1235, 1281, 1283}) {
            Bytes big = client_packet(kClient6, kVip6, len).build();
            expect_run(lb, big, XDP_TX, too_big_reply(big, kClient6, kVip6, 1280, std::min<size_t>(len - 48, 1232)),
                       JL_CNT_TX_ICMP_TOO_BIG);
        }
    }
}

TEST_CASE("lb icmp: answers are rate limited per CPU and counted when the limit bites", "[lb][icmp]") {
    for (bool v6 : {false, true}) {
        DYNAMIC_SECTION((v6 ? "IPv6" : "IPv4")) {
            PinnedCpu cpu;
            LbHarness lb;
            const char* client = v6 ? kClient6 : kClient4;
            const char* vip = v6 ? kVip6 : kVip4;
            install(lb, tunnel(v6 ? JL_MODE_IP6IP6 : JL_MODE_IPIP, vip, v6 ? "6" : "4", 1400));
            lb.set_icmp_answer_rate(0, 2);
            const Bytes big = client_packet(client, vip, 1450).build();
            CHECK(lb.run(big).verdict == XDP_TX);
            CHECK(lb.run(big).verdict == XDP_TX);
            expect_drop(lb, big, JL_CNT_DROP_ICMP_RATE);
            expect_drop(lb, big, JL_CNT_DROP_ICMP_RATE);
            CHECK(lb.counter(JL_CNT_TX_ICMP_TOO_BIG).packets == 2);
            // Traffic that fits is not limited.
            CHECK(lb.run(client_packet(client, vip, 1000).build()).verdict == XDP_TX);
            // The next second, answers again.
            lb.expire_icmp_windows();
            CHECK(lb.run(big).verdict == XDP_TX);
            CHECK(lb.counter(JL_CNT_TX_ICMP_TOO_BIG).packets == 3);
            // 0: no limit.
            lb.set_icmp_answer_rate(0, 0);
            for (int i = 0; i < 5; ++i) CHECK(lb.run(big).verdict == XDP_TX);
        }
    }
}

TEST_CASE("lb icmp: no answer to unspecified, loopback, multicast or broadcast sources", "[lb][icmp]") {
    for (const char* source : {"0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.1", "239.255.255.250", "255.255.255.255",
                               "240.0.0.1", "::", "::1", "ff02::1", "ff0e::1"}) {
        DYNAMIC_SECTION(source) {
            LbHarness lb;
            const bool v6 = is_v6(source);
            const char* vip = v6 ? kVip6 : kVip4;
            install(lb, tunnel(v6 ? JL_MODE_IP6IP6 : JL_MODE_IPIP, vip, v6 ? "6" : "4", 1400));
            expect_drop(lb, client_packet(source, vip, 1450).build(), JL_CNT_DROP_TOO_BIG);
            CHECK(lb.counter(JL_CNT_TX_ICMP_TOO_BIG).packets == 0);
        }
    }
}

TEST_CASE("lb icmp: at the smallest mtu configuration accepts, an IPv6 client is told exactly 1280", "[lb][icmp]") {
    struct Case {
        const char* name;
        uint8_t mode;
        julier::config::Forwarding forwarding;
        std::string family;
    };
    const Case cases[] = {
        {"IPv6 in IPv6", JL_MODE_IP6IP6, julier::config::Forwarding::ip6ip6, "6"},
        {"GUE over IPv4", JL_MODE_GUE, julier::config::Forwarding::gue, "4"},
        {"GUE over IPv6", JL_MODE_GUE, julier::config::Forwarding::gue, "6"},
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.name) {
            // The configuration's own figure: the forwarder must agree with it.
            const uint32_t overhead = *julier::config::encap_overhead(c.forwarding, c.family == "6" ? 6 : 4);
            const auto smallest = static_cast<uint16_t>(JL_IPV6_MIN_MTU + overhead);
            LbHarness lb;
            install(lb, tunnel(c.mode, kVip6, c.family, smallest));
            CHECK(lb.run(client_packet(kClient6, kVip6, JL_IPV6_MIN_MTU).build()).verdict == XDP_TX);
            for (size_t len : {JL_IPV6_MIN_MTU + 1u, 1500u}) {
                Bytes big = client_packet(kClient6, kVip6, len).build();
                const Bytes reply = too_big_reply(big, kClient6, kVip6, JL_IPV6_MIN_MTU, 1232);
                expect_run(lb, big, XDP_TX, reply, JL_CNT_TX_ICMP_TOO_BIG);
                CHECK(reply.size() <= big.size());
            }
        }
    }
}

TEST_CASE("lb icmp: an ICMP error about a service's reply goes to the backend that owns the flow", "[lb][icmp]") {
    struct Case {
        const char* name;
        uint8_t mode;
        std::string vip, family;
        size_t quote;
    };
    const Case cases[] = {
        {"IPv4 frag-needed, l2", JL_MODE_L2, kVip4, "", 28},
        {"IPv4 frag-needed, IPIP", JL_MODE_IPIP, kVip4, "4", 28},
        {"IPv4 frag-needed, GUE over IPv6", JL_MODE_GUE, kVip4, "6", 28},
        {"IPv4 frag-needed quoting more, GUE over IPv4", JL_MODE_GUE, kVip4, "4", 555},
        {"IPv6 packet-too-big, l2", JL_MODE_L2, kVip6, "", 1232},
        {"IPv6 packet-too-big, IPv6 in IPv6", JL_MODE_IP6IP6, kVip6, "6", 1232},
        {"IPv6 packet-too-big, GUE over IPv4", JL_MODE_GUE, kVip6, "4", 601},
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.name) {
            LbHarness lb;
            ServiceSpec s = tunnel(c.mode, c.vip, c.family);
            install(lb, s);
            std::string client = is_v6(c.vip) ? kClient6 : kClient4;
            uint32_t hash = ref_flow_hash(client, c.vip, 40000, 80, IPPROTO_TCP);
            // The flow is owned by another backend than a fresh pick would give.
            uint32_t owner = (pick(s, hash) + 3) % s.slots;
            lb.put_flow(flow_key(client, c.vip, 40000, 80, IPPROTO_TCP), jl_flow{owner, s.service_id, 0, 0, 0});

            Bytes quote = quoted_reply(c.vip, client, c.quote);
            Bytes in = icmp_error(c.vip, quote);
            Packet out;
            if (c.mode == JL_MODE_L2) {
                out.eth(backend_mac(owner), kLbMac);
                append_icmp_error(out, c.vip, quote, 60);
            } else {
                out.eth(kNextHopMac, kLbMac);
                if (v6_backends(s))
                    out.ipv6(kTunnelSrc6, backend6(owner)).ttl(64).flow_label(hash & 0xfffff);
                else
                    out.ipv4(kTunnelSrc4, backend4(owner)).ttl(64).df().id(0);
                if (c.mode == JL_MODE_GUE)
                    out.udp(static_cast<uint16_t>(JL_GUE_SPORT_MIN + (hash & JL_GUE_SPORT_MASK)), 6080).gue();
                append_icmp_error(out, c.vip, quote, 59);
            }
            expect_run(lb, in, XDP_TX, out.build(), JL_CNT_TX_ICMP_ERROR);
            CHECK(lb.backend_stats(owner).packets == 1);
            CHECK(lb.backend_stats(owner).new_flows == 0);
            CHECK(lb.service_stats(s.service_id).packets == 1);
            CHECK(lb.service_stats(s.service_id).new_flows == 0);
            CHECK(lb.flow_keys().size() == 1);  // nothing added
        }
    }
}

TEST_CASE("lb icmp: without a connection table entry the error follows the ring", "[lb][icmp]") {
    for (bool affinity : {false, true}) {
        DYNAMIC_SECTION((affinity ? "source affinity" : "5-tuple")) {
            LbHarness lb;
            ServiceSpec s;
            s.slots = 13;
            if (affinity) s.flags = JL_VIP_F_SOURCE_AFFINITY;
            install(lb, s);
            uint32_t id =
                pick(s, affinity ? ref_source_hash(kClient4) : ref_flow_hash(kClient4, kVip4, 40000, 80, IPPROTO_TCP));
            Bytes quote = quoted_reply(kVip4, kClient4, 28);
            Bytes in = icmp_error(kVip4, quote, 11);  // time exceeded
            Packet out;
            out.eth(backend_mac(id), kLbMac);
            append_icmp_error(out, kVip4, quote, 60, 11);
            expect_run(lb, in, XDP_TX, out.build(), JL_CNT_TX_ICMP_ERROR);
            CHECK(lb.flow_keys().empty());  // an error is no evidence of a flow
        }
    }
}

TEST_CASE("lb icmp: an error to a backend behind another device is redirected", "[lb][icmp]") {
    LbHarness lb;
    ServiceSpec s;
    s.vip = kVip6;
    s.ifindex = 4;
    install(lb, s);
    uint32_t id = pick(s, ref_flow_hash(kClient6, kVip6, 40000, 80, IPPROTO_TCP));
    Bytes quote = quoted_reply(kVip6, kClient6, 200);
    Packet out;
    out.eth(backend_mac(id), kLbMac);
    append_icmp_error(out, kVip6, quote, 60);
    expect_run(lb, icmp_error(kVip6, quote), XDP_REDIRECT, out.build(), JL_CNT_REDIRECT_ICMP_ERROR);
}

TEST_CASE("lb icmp: errors that quote no service's flow pass to the kernel", "[lb][icmp]") {
    LbHarness lb;
    ServiceSpec s4;
    install(lb, s4);
    ServiceSpec s6;
    s6.vip = kVip6;
    s6.service_id = 2;
    s6.first_backend = 10;
    s6.ring_offset = 10;
    install(lb, s6);

    SECTION("a port without a service") {
        expect_pass(lb, icmp_error(kVip4, quoted_reply(kVip4, kClient4, 28, IPPROTO_TCP, 81)),
                    JL_CNT_PASS_ICMP_NOT_FLOW);
        expect_pass(lb, icmp_error(kVip6, quoted_reply(kVip6, kClient6, 300, IPPROTO_TCP, 81)),
                    JL_CNT_PASS_ICMP_NOT_FLOW);
    }
    SECTION("a protocol without a service") {
        expect_pass(lb, icmp_error(kVip4, quoted_reply(kVip4, kClient4, 28, IPPROTO_UDP)), JL_CNT_PASS_ICMP_NOT_FLOW);
    }
    SECTION("a quote too short to hold the ports") {
        expect_pass(lb, icmp_error(kVip4, quoted_reply(kVip4, kClient4, 23)), JL_CNT_PASS_ICMP_NOT_FLOW);
        expect_pass(lb, icmp_error(kVip6, quoted_reply(kVip6, kClient6, 43)), JL_CNT_PASS_ICMP_NOT_FLOW);
    }
    SECTION("a quote of another protocol") {
        Bytes ping = Packet().ipv4(kVip4, kClient4).icmp4(0, 0, 1).payload("pong").build();
        expect_pass(lb, icmp_error(kVip4, ping), JL_CNT_PASS_ICMP_NOT_FLOW);
    }
    SECTION("an error to an address that is no VIP address") {
        Packet p;
        p.eth(kLbMac, kPeerMac).ipv4(kRouter4, kOther4).icmp4(3, 4, 1400).payload(quoted_reply(kVip4, kClient4, 28));
        expect_pass(lb, p.build(), JL_CNT_PASS_NOT_VIP);
        Packet p6;
        p6.eth(kLbMac, kPeerMac).ipv6(kRouter6, kOther6).icmp6(1, 4, 0).payload(quoted_reply(kVip6, kClient6, 100));
        expect_pass(lb, p6.build(), JL_CNT_PASS_NOT_VIP);
    }
    SECTION("ICMP that is not an error") {
        expect_pass(lb, Packet().eth(kLbMac, kPeerMac).ipv4(kClient4, kVip4).icmp4(13, 0, 0).payload_size(12).build(),
                    JL_CNT_PASS_NOT_VIP);
        expect_pass(lb, Packet().eth(kLbMac, kPeerMac).ipv6(kClient6, kVip6).icmp6(135, 0, 0).payload_size(16).build(),
                    JL_CNT_PASS_NOT_VIP);
    }
    SECTION("an ICMP header cut short") {
        Bytes cut = truncated(icmp_error(kVip4, quoted_reply(kVip4, kClient4, 28)), 14 + 20 + 6);
        // The IPv4 total length no longer fits the frame: malformed, and ICMP has no
        // service at the address, so it is the kernel's.
        expect_pass(lb, cut, JL_CNT_PASS_UNPARSED);
    }
    CHECK(lb.flow_keys().empty());
}

TEST_CASE("lb icmp: an encapsulated error that would exceed the MTU is dropped, never answered", "[lb][icmp]") {
    LbHarness lb;
    ServiceSpec s = tunnel(JL_MODE_IP6IP6, kVip6, "6", 700);
    install(lb, s);
    Bytes in = icmp_error(kVip6, quoted_reply(kVip6, kClient6, 700));
    expect_drop(lb, in, JL_CNT_DROP_TOO_BIG);
}
