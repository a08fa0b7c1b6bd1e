// What the forwarder parses and what it leaves to the kernel (docs/forwarder.md,
// "Parse failures"): non-IP and traffic for other addresses pass byte for byte;
// a frame cut at any header boundary, or with inconsistent lengths, is dropped when
// its destination is a VIP address and passed otherwise; IPv4 options and IPv6
// extension headers are walked; a chain deeper than the limit is not parsed.
#include <catch2/catch.hpp>

#include "lb_fixture.h"

using namespace julier::test;
using namespace julier::test::lbfix;

namespace {

// One TCP service on the IPv4 VIP and one on the IPv6 VIP, port 80, l2 mode.
void install_web(LbHarness& lb) {
    ServiceSpec v4;
    v4.service_id = 1;
    v4.first_backend = 0;
    install(lb, v4);
    ServiceSpec v6;
    v6.vip = kVip6;
    v6.service_id = 2;
    v6.first_backend = 10;
    v6.ring_offset = 10;
    install(lb, v6);
}

Bytes l2_out(const Bytes& in, uint32_t backend) {
    Bytes out = in;
    const Mac dst = backend_mac(backend);
    std::copy(dst.begin(), dst.end(), out.begin());
    std::copy(kLbMac.begin(), kLbMac.end(), out.begin() + 6);
    return out;
}

Packet tcp4(std::string_view dst, uint16_t dport = 80) {
    Packet p;
    p.eth(kLbMac, kPeerMac).ipv4(kClient4, dst).tcp(41000, dport).payload("payload");
    return p;
}

Packet tcp6(std::string_view dst, uint16_t dport = 80) {
    Packet p;
    p.eth(kLbMac, kPeerMac).ipv6(kClient6, dst).tcp(41000, dport).payload("payload");
    return p;
}

}  // namespace

TEST_CASE("lb parse: frames that are not IP pass untouched", "[lb][parse]") {
    LbHarness lb;
    install_web(lb);
    Bytes arp = Packet().eth(mac("ff:ff:ff:ff:ff:ff"), kPeerMac).ethertype(kEthArp).payload_size(28).build();
    expect_pass(lb, arp, JL_CNT_PASS_NOT_IP);
    Bytes tagged_arp =
        Packet().eth(mac("ff:ff:ff:ff:ff:ff"), kPeerMac).vlan(7).ethertype(kEthArp).payload_size(28).build();
    expect_pass(lb, tagged_arp, JL_CNT_PASS_NOT_IP);
    Bytes lldp = Packet().eth(mac("01:80:c2:00:00:0e"), kPeerMac).ethertype(0x88cc).payload_size(40).build();
    expect_pass(lb, lldp, JL_CNT_PASS_NOT_IP);
}

TEST_CASE("lb parse: QinQ (802.1ad, or two 802.1Q tags) is not parsed and passes, even to a VIP", "[lb][parse]") {
    LbHarness lb;
    install_web(lb);
    Bytes two_tags = tcp4(kVip4).vlan(10).vlan(20).build();
    expect_pass(lb, two_tags, JL_CNT_PASS_UNPARSED);
    Bytes ad = tcp4(kVip4).build();
    // Outer TPID 0x88a8 with one inner 802.1Q tag: S-tag, C-tag, IPv4.
    Bytes qinq(ad.begin(), ad.begin() + 12);
    for (uint8_t b : {0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14}) qinq.push_back(b);
    qinq.insert(qinq.end(), ad.begin() + 12, ad.end());
    expect_pass(lb, qinq, JL_CNT_PASS_UNPARSED);
    // 802.1ad tag directly in front of IPv4.
    Bytes ad_only(ad.begin(), ad.begin() + 12);
    for (uint8_t b : {0x88, 0xa8, 0x00, 0x0a}) ad_only.push_back(b);
    ad_only.insert(ad_only.end(), ad.begin() + 12, ad.end());
    expect_pass(lb, ad_only, JL_CNT_PASS_UNPARSED);
}

TEST_CASE("lb parse: traffic for no service passes untouched", "[lb][parse]") {
    LbHarness lb;
    install_web(lb);
    SECTION("IPv4 to another address") { expect_pass(lb, tcp4(kOther4).build(), JL_CNT_PASS_NOT_VIP); }
    SECTION("IPv6 to another address") { expect_pass(lb, tcp6(kOther6).build(), JL_CNT_PASS_NOT_VIP); }
    SECTION("IPv4 VIP, another port") { expect_pass(lb, tcp4(kVip4, 81).build(), JL_CNT_PASS_NOT_VIP); }
    SECTION("IPv6 VIP, another port") { expect_pass(lb, tcp6(kVip6, 8080).build(), JL_CNT_PASS_NOT_VIP); }
    SECTION("VIP, port of the service, but UDP") {
        Bytes udp = Packet().eth(kLbMac, kPeerMac).ipv4(kClient4, kVip4).udp(41000, 80).payload("x").build();
        expect_pass(lb, udp, JL_CNT_PASS_NOT_VIP);
    }
    SECTION("ping to the VIP") {
        Bytes echo =
            Packet().eth(kLbMac, kPeerMac).ipv4(kClient4, kVip4).icmp4(8, 0, 0x12340001).payload("ping").build();
        expect_pass(lb, echo, JL_CNT_PASS_NOT_VIP);
        Bytes echo6 =
            Packet().eth(kLbMac, kPeerMac).ipv6(kClient6, kVip6).icmp6(128, 0, 0x12340001).payload("ping").build();
        expect_pass(lb, echo6, JL_CNT_PASS_NOT_VIP);
    }
    SECTION("another protocol to the VIP") {
        Bytes gre = Packet().eth(kLbMac, kPeerMac).ipv4(kClient4, kVip4).ip_proto(47).payload_size(24).build();
        expect_pass(lb, gre, JL_CNT_PASS_NOT_VIP);
    }
    SECTION("the VIP on the side that is not live") {
        ServiceSpec later;
        later.vip = kOther4;
        later.side = 1;
        install(lb, later);
        expect_pass(lb, tcp4(kOther4).build(), JL_CNT_PASS_NOT_VIP);
    }
}

TEST_CASE("lb parse: a frame cut at any byte is dropped for a VIP address, passed otherwise", "[lb][parse]") {
    LbHarness lb;
    install_web(lb);
    const uint8_t sack_perm[] = {4, 2, 1, 1};
    const uint8_t router_alert[] = {0x94, 0x04, 0x00, 0x00};
    struct Case {
        const char* name;
        Packet vip, other;
        size_t dst_known;  // bytes from which the destination address can be read
    };
    std::vector<Case> cases = {
        {"IPv4", tcp4(kVip4), tcp4(kOther4), 14 + 20},
        {"IPv4 behind a tag", tcp4(kVip4).vlan(5), tcp4(kOther4).vlan(5), 18 + 20},
        {"IPv4 with options", tcp4(kVip4).ip_options(router_alert), tcp4(kOther4).ip_options(router_alert), 14 + 20},
        {"IPv6", tcp6(kVip6), tcp6(kOther6), 14 + 40},
        {"IPv6 behind a tag", tcp6(kVip6).vlan(5), tcp6(kOther6).vlan(5), 18 + 40},
        {"IPv6 with hop-by-hop and dest-opts", tcp6(kVip6).hop_by_hop().dest_opts(),
         tcp6(kOther6).hop_by_hop().dest_opts(), 14 + 40},
    };
    cases[0].vip.tcp_options(sack_perm);
    for (Case& c : cases) {
        SECTION(c.name) {
            Bytes vip = c.vip.build(), other = c.other.build();
            // Whole frames are forwarded / passed as not for a service.
            uint32_t id = static_cast<uint32_t>(l2_backend_of(lb, vip));
            CHECK(id < 20);
            // BPF_PROG_TEST_RUN refuses XDP frames shorter than an Ethernet header, so
            // the cuts start at 14 bytes.
            for (size_t n = 14; n < vip.size(); n++) {
                INFO("cut to " << n << " of " << vip.size() << " bytes");
                if (n < c.dst_known) {
                    expect_pass(lb, truncated(vip, n), JL_CNT_PASS_UNPARSED);
                } else {
                    expect_drop(lb, truncated(vip, n), JL_CNT_DROP_MALFORMED);
                }
            }
            for (size_t n = 14; n < other.size(); n++) {
                INFO("cut to " << n << " of " << other.size() << " bytes");
                expect_pass(lb, truncated(other, n), JL_CNT_PASS_UNPARSED);
            }
        }
    }
}

TEST_CASE("lb parse: a transport header cut short inside a consistent IP packet", "[lb][parse]") {
    LbHarness lb;
    install_web(lb);
    // IPv4 packets whose total length says 20 + n: the TCP header is cut at n bytes.
    for (size_t n : {0, 3, 4, 12, 19}) {
        INFO("TCP header of " << n << " bytes");
        Bytes tcp = Packet().tcp(41000, 80).l4_checksum(0).build();
        tcp.resize(n);
        Bytes vip = Packet().eth(kLbMac, kPeerMac).ipv4(kClient4, kVip4).ip_proto(IPPROTO_TCP).payload(tcp).build();
        expect_drop(lb, vip, JL_CNT_DROP_MALFORMED);
        Bytes other = Packet().eth(kLbMac, kPeerMac).ipv4(kClient4, kOther4).ip_proto(IPPROTO_TCP).payload(tcp).build();
        expect_pass(lb, other, JL_CNT_PASS_UNPARSED);
        Bytes vip6 = Packet().eth(kLbMac, kPeerMac).ipv6(kClient6, kVip6).ip_proto(IPPROTO_TCP).payload(tcp).build();
        expect_drop(lb, vip6, JL_CNT_DROP_MALFORMED);
    }
    // Same with padding after the IP packet: the bytes are in the frame but not in the
    // packet, which is what counts.
    Bytes tcp = Packet().tcp(41000, 80).l4_checksum(0).build();
    tcp.resize(8);
    Bytes padded = Packet().eth(kLbMac, kPeerMac).ipv4(kClient4, kVip4).ip_proto(IPPROTO_TCP).payload(tcp).build();
    padded.resize(80, 0);
    expect_drop(lb, padded, JL_CNT_DROP_MALFORMED);
    // A UDP header of 7 bytes to a VIP address that has only TCP services: the rule
    // looks at address and protocol, so this is not a VIP's packet.
    Bytes udp = Packet().udp(41000, 80).l4_checksum(0).build();
    udp.resize(7);
    Bytes short_udp = Packet().eth(kLbMac, kPeerMac).ipv4(kClient4, kVip4).ip_proto(IPPROTO_UDP).payload(udp).build();
    expect_pass(lb, short_udp, JL_CNT_PASS_UNPARSED);
}

TEST_CASE("lb parse: inconsistent IPv4 headers", "[lb][parse]") {
    LbHarness lb;
    install_web(lb);
    struct Case {
        const char* name;
        std::function<void(Packet&)> edit;
    };
    const Case cases[] = {
        {"IHL 4", [](Packet& p) { p.ihl(4); }},
        {"IHL 0", [](Packet& p) { p.ihl(0); }},
        {"IHL 15 without options", [](Packet& p) { p.ihl(15); }},
        {"version 5", [](Packet& p) { p.ip_version(5); }},
        {"version 6 under ethertype IPv4", [](Packet& p) { p.ip_version(6); }},
        {"total length below the header", [](Packet& p) { p.total_length(19); }},
        {"total length beyond the frame", [](Packet& p) { p.total_length(200); }},
        {"total length shorter than the TCP header", [](Packet& p) { p.total_length(30); }},
    };
    for (const Case& c : cases) {
        SECTION(c.name) {
            Packet vip = tcp4(kVip4), other = tcp4(kOther4);
            c.edit(vip);
            c.edit(other);
            expect_drop(lb, vip.build(), JL_CNT_DROP_MALFORMED);
            expect_pass(lb, other.build(), JL_CNT_PASS_UNPARSED);
        }
    }
}

TEST_CASE("lb parse: inconsistent IPv6 headers", "[lb][parse]") {
    LbHarness lb;
    install_web(lb);
    SECTION("version 4 under ethertype IPv6") {
        expect_drop(lb, tcp6(kVip6).ip_version(4).build(), JL_CNT_DROP_MALFORMED);
        expect_pass(lb, tcp6(kOther6).ip_version(4).build(), JL_CNT_PASS_UNPARSED);
    }
    SECTION("payload length beyond the frame") {
        expect_drop(lb, tcp6(kVip6).payload_length(500).build(), JL_CNT_DROP_MALFORMED);
        expect_pass(lb, tcp6(kOther6).payload_length(500).build(), JL_CNT_PASS_UNPARSED);
    }
    SECTION("payload length shorter than the TCP header") {
        expect_drop(lb, tcp6(kVip6).payload_length(10).build(), JL_CNT_DROP_MALFORMED);
        expect_pass(lb, tcp6(kOther6).payload_length(10).build(), JL_CNT_PASS_UNPARSED);
    }
    SECTION("extension header longer than the payload") {
        const uint8_t big[40] = {};
        Packet vip = tcp6(kVip6).dest_opts(big);
        Bytes f = vip.build();
        // Payload length 8: the 48-byte destination options header overruns it.
        f[14 + 4] = 0;
        f[14 + 5] = 8;
        expect_drop(lb, f, JL_CNT_DROP_MALFORMED);
    }
}

TEST_CASE("lb parse: IPv4 options of every length are walked and kept", "[lb][parse]") {
    LbHarness lb;
    install_web(lb);
    for (size_t words = 1; words <= 10; words++) {
        INFO("IHL " << 5 + words);
        Bytes options(words * 4, 0);
        options[0] = 0x07;  // record route, pointer 4, room for the rest
        options[1] = static_cast<uint8_t>(words * 4 - 1);
        options[2] = 4;
        Bytes in = tcp4(kVip4).ip_options(options).build();
        uint32_t id = pick(ServiceSpec{}, ref_flow_hash(kClient4, kVip4, 41000, 80, IPPROTO_TCP));
        expect_run(lb, in, XDP_TX, l2_out(in, id), JL_CNT_TX_FORWARD);
    }
}

TEST_CASE("lb parse: IPv6 extension headers are walked to the ports, up to the limit", "[lb][parse]") {
    LbHarness lb;
    install_web(lb);
    ServiceSpec v6;  // as installed by install_web
    v6.vip = kVip6;
    v6.first_backend = 10;
    uint32_t id = pick(v6, ref_flow_hash(kClient6, kVip6, 41000, 80, IPPROTO_TCP));
    const uint8_t pad[12] = {};

    SECTION("each kind on its own") {
        std::vector<std::pair<const char*, Packet>> cases = {
            {"hop-by-hop", tcp6(kVip6).hop_by_hop()},
            {"hop-by-hop, 24 bytes", tcp6(kVip6).hop_by_hop(pad)},
            {"routing (segments left 0)", tcp6(kVip6).routing(4, 0, {ip6("2001:db8:9::1")})},
            {"destination options", tcp6(kVip6).dest_opts()},
            {"atomic fragment (RFC 6946)", tcp6(kVip6).fragment6(0, false, 0xabcd)},
        };
        for (auto& [name, p] : cases) {
            INFO(name);
            Bytes in = p.build();
            expect_run(lb, in, XDP_TX, l2_out(in, id), JL_CNT_TX_FORWARD);
        }
    }
    SECTION("a chain of JL_MAX_IPV6_EXT_HEADERS") {
        static_assert(JL_MAX_IPV6_EXT_HEADERS == 4);
        Bytes in = tcp6(kVip6).hop_by_hop().routing(0, 0, {}).dest_opts().fragment6(0, false, 1).build();
        expect_run(lb, in, XDP_TX, l2_out(in, id), JL_CNT_TX_FORWARD);
    }
    SECTION("one header more than the limit is not parsed") {
        Bytes vip = tcp6(kVip6).hop_by_hop().routing(0, 0, {}).dest_opts().dest_opts().dest_opts().build();
        expect_drop(lb, vip, JL_CNT_DROP_MALFORMED);
        Bytes other = tcp6(kOther6).hop_by_hop().routing(0, 0, {}).dest_opts().dest_opts().dest_opts().build();
        expect_pass(lb, other, JL_CNT_PASS_UNPARSED);
    }
    SECTION("a chain that ends in another protocol is for no service") {
        Bytes esp =
            Packet().eth(kLbMac, kPeerMac).ipv6(kClient6, kVip6).dest_opts().ip_proto(50).payload_size(32).build();
        expect_pass(lb, esp, JL_CNT_PASS_NOT_VIP);
    }
}
