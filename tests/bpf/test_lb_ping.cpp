// Ping (docs/forwarder.md, "Ping"): an echo request to a VIP address whose services
// set answer_ping is answered by the forwarder with an echo reply from the VIP, within
// the ICMP answer rate; without answer_ping, or to another address, it is the kernel's.
#include <catch2/catch.hpp>

#include "cpu_pin.h"
#include "lb_fixture.h"

using namespace julier::test;
using namespace julier::test::lbfix;

namespace {

constexpr uint32_t kIdSeq = 0x4a6c0007;  // identifier 0x4a6c, sequence number 7

ServiceSpec answering(std::string vip, uint8_t proto = IPPROTO_TCP) {
    ServiceSpec s;
    s.vip = std::move(vip);
    s.proto = proto;
    s.flags = JL_VIP_F_ANSWER_PING;
    return s;
}

// An echo request (or another ICMP type) from the client to an address, with n bytes of data.
Packet echo(std::string_view client, std::string_view dst, size_t n = 56, std::optional<uint16_t> vlan = std::nullopt,
            uint8_t type = 0) {
    Packet p;
    p.eth(kLbMac, kPeerMac);
    if (vlan) p.vlan(*vlan);
    if (is_v6(client))
        p.ipv6(client, dst).tos(0x2b).ttl(57).flow_label(0x12345).icmp6(type ? type : 128, 0, kIdSeq);
    else
        p.ipv4(client, dst).tos(0x2b).ttl(57).id(0x1234).icmp4(type ? type : 8, 0, kIdSeq);
    p.payload_size(n);
    return p;
}

// What the forwarder must send back: MACs and addresses swapped, echo reply, DSCP kept
// and ECN cleared, TTL 64, identifier, sequence number and data kept.
Bytes echo_reply(std::string_view client, std::string_view vip, size_t n = 56,
                 std::optional<uint16_t> vlan = std::nullopt) {
    Packet p;
    p.eth(kPeerMac, kLbMac);
    if (vlan) p.vlan(*vlan);
    if (is_v6(client))
        p.ipv6(vip, client).tos(0x28).ttl(64).flow_label(0).icmp6(129, 0, kIdSeq);
    else
        p.ipv4(vip, client).tos(0x28).ttl(64).df().id(0).icmp4(0, 0, kIdSeq);
    p.payload_size(n);
    return p.build();
}

}  // namespace

TEST_CASE("lb ping: an echo request to a VIP that answers ping gets an echo reply", "[lb][ping]") {
    for (bool v6 : {false, true}) {
        for (bool tagged : {false, true}) {
            DYNAMIC_SECTION((v6 ? "IPv6" : "IPv4") << (tagged ? ", tagged" : "")) {
                const char* client = v6 ? kClient6 : kClient4;
                const char* vip = v6 ? kVip6 : kVip4;
                std::optional<uint16_t> vlan;
                if (tagged) vlan = 300;
                LbHarness lb;
                install(lb, answering(vip));
                // Lengths around every step of the checksum's walk (32, 16, 8, 4, 2, 1).
                for (size_t n : {56, 0, 1, 2, 3, 31, 33, 63, 1000, 1452}) {
                    INFO("data bytes " << n);
                    expect_run(lb, echo(client, vip, n, vlan).build(), XDP_TX, echo_reply(client, vip, n, vlan),
                               JL_CNT_TX_ECHO_REPLY);
                }
                // Nothing for the services: no flow, no service or backend traffic.
                CHECK(lb.flow_keys().empty());
                CHECK(lb.service_stats(1).packets == 0);
            }
        }
    }
}

TEST_CASE("lb ping: an address with only a UDP service answers too", "[lb][ping]") {
    LbHarness lb;
    install(lb, answering(kVip6, IPPROTO_UDP));
    expect_run(lb, echo(kClient6, kVip6).build(), XDP_TX, echo_reply(kClient6, kVip6), JL_CNT_TX_ECHO_REPLY);
}

TEST_CASE("lb ping: IPv4 options, IPv6 extension headers and Ethernet padding are not echoed", "[lb][ping]") {
    LbHarness lb;
    install(lb, answering(kVip4));
    ServiceSpec s6 = answering(kVip6);
    s6.service_id = 2;
    install(lb, s6);

    SECTION("IPv4 options") {
        const uint8_t options[] = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};
        Bytes in = echo(kClient4, kVip4, 40).ip_options(options).build();
        expect_run(lb, in, XDP_TX, echo_reply(kClient4, kVip4, 40), JL_CNT_TX_ECHO_REPLY);
    }
    SECTION("IPv6 hop-by-hop and destination options") {
        Packet p;
        p.eth(kLbMac, kPeerMac)
            .ipv6(kClient6, kVip6)
            .tos(0x2b)
            .ttl(57)
            .hop_by_hop()
            .dest_opts()
            .icmp6(128, 0, kIdSeq)
            .payload_size(40);
        expect_run(lb, p.build(), XDP_TX, echo_reply(kClient6, kVip6, 40), JL_CNT_TX_ECHO_REPLY);
    }
    SECTION("padding behind a short IPv4 packet") {
        Bytes in = echo(kClient4, kVip4, 4).build();
        Bytes padded = in;
        padded.resize(60, 0);
        expect_run(lb, padded, XDP_TX, echo_reply(kClient4, kVip4, 4), JL_CNT_TX_ECHO_REPLY);
    }
}

TEST_CASE("lb ping: without answer_ping, or to another address, the kernel gets the echo request", "[lb][ping]") {
    LbHarness lb;
    install(lb, ServiceSpec{});  // kVip4 without answer_ping
    ServiceSpec s6 = answering(kVip6);
    s6.service_id = 2;
    install(lb, s6);
    expect_pass(lb, echo(kClient4, kVip4).build(), JL_CNT_PASS_NOT_VIP);
    expect_pass(lb, echo(kClient4, kOther4).build(), JL_CNT_PASS_NOT_VIP);
    expect_pass(lb, echo(kClient6, kOther6).build(), JL_CNT_PASS_NOT_VIP);
    // An address that passes the VIP filter but has no service.
    lb.filter_add(0, kOther6);
    expect_pass(lb, echo(kClient6, kOther6).build(), JL_CNT_PASS_NOT_VIP);
}

TEST_CASE("lb ping: echo replies and other ICMP to a VIP that answers ping are not answered", "[lb][ping]") {
    LbHarness lb;
    install(lb, answering(kVip4));
    ServiceSpec s6 = answering(kVip6);
    s6.service_id = 2;
    install(lb, s6);
    // Echo reply, timestamp, address mask request.
    for (uint8_t type : {0, 13, 17}) {
        INFO("ICMP type " << int(type));
        Bytes in =
            type == 0
                ? Packet().eth(kLbMac, kPeerMac).ipv4(kClient4, kVip4).icmp4(0, 0, kIdSeq).payload_size(56).build()
                : echo(kClient4, kVip4, 12, std::nullopt, type).build();
        expect_pass(lb, in, JL_CNT_PASS_NOT_VIP);
    }
    // Echo reply, router solicitation, neighbour solicitation, node information query.
    for (uint8_t type : {129, 133, 135, 139}) {
        INFO("ICMPv6 type " << int(type));
        expect_pass(lb, echo(kClient6, kVip6, 16, std::nullopt, type).build(), JL_CNT_PASS_NOT_VIP);
    }
    // An echo request in fragments (a large ping) is not reassembled: the kernel's.
    Bytes first =
        Packet().eth(kLbMac, kPeerMac).ipv4(kClient4, kVip4).mf().icmp4(8, 0, kIdSeq).payload_size(1472).build();
    expect_pass(lb, first, JL_CNT_PASS_NOT_VIP);
    CHECK(lb.counter(JL_CNT_TX_ECHO_REPLY).packets == 0);
}

TEST_CASE("lb ping: a bad checksum, a source ICMP never answers or a cut header is not answered", "[lb][ping]") {
    LbHarness lb;
    install(lb, answering(kVip4));
    ServiceSpec s6 = answering(kVip6);
    s6.service_id = 2;
    install(lb, s6);

    SECTION("bad checksum") {
        expect_drop(lb, echo(kClient4, kVip4).l4_checksum(0x1234).build(), JL_CNT_DROP_ECHO_INVALID);
        expect_drop(lb, echo(kClient6, kVip6).l4_checksum(0x1234).build(), JL_CNT_DROP_ECHO_INVALID);
        // An ICMPv6 checksum without the pseudo-header (as ICMPv4 computes it) is wrong.
        Bytes in = echo(kClient6, kVip6, 8).build();
        Bytes v4style = in;
        v4style[14 + 40 + 2] = 0;
        v4style[14 + 40 + 3] = 0;
        uint32_t sum = 0;
        for (size_t i = 14 + 40; i + 1 < v4style.size(); i += 2) sum += uint32_t(v4style[i]) << 8 | v4style[i + 1];
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        v4style[14 + 40 + 2] = uint8_t(~sum >> 8);
        v4style[14 + 40 + 3] = uint8_t(~sum);
        expect_drop(lb, v4style, JL_CNT_DROP_ECHO_INVALID);
    }
    SECTION("sources ICMP never answers") {
        for (const char* source :
             {"0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "240.0.0.1", "::", "::1", "ff02::1"}) {
            INFO(source);
            expect_drop(lb, echo(source, is_v6(source) ? kVip6 : kVip4).build(), JL_CNT_DROP_ECHO_INVALID);
        }
    }
    SECTION("an ICMP header cut short: never answered") {
        // IPv4: a broken packet whose protocol has no service at the address is the kernel's.
        expect_pass(lb, truncated(echo(kClient4, kVip4, 0).build(), 14 + 20 + 6), JL_CNT_PASS_UNPARSED);
        // IPv6: a payload length beyond the frame, to a VIP address, is dropped whatever follows.
        expect_drop(lb, truncated(echo(kClient6, kVip6, 0).build(), 14 + 40 + 6), JL_CNT_DROP_MALFORMED);
        // A whole IPv6 packet whose ICMPv6 header is cut: the kernel's.
        Bytes short6 = Packet().eth(kLbMac, kPeerMac).ipv6(kClient6, kVip6).ip_proto(58).payload_size(6).build();
        expect_pass(lb, short6, JL_CNT_PASS_UNPARSED);
        // The IP length says less than the ICMP header.
        expect_pass(lb, echo(kClient4, kVip4, 0).total_length(20 + 6).build(), JL_CNT_PASS_UNPARSED);
    }
    SECTION("data cut short: the IP length is longer than the frame") {
        Bytes cut = truncated(echo(kClient4, kVip4, 100).build(), 14 + 20 + 8 + 50);
        expect_pass(lb, cut, JL_CNT_PASS_UNPARSED);
    }
    CHECK(lb.counter(JL_CNT_TX_ECHO_REPLY).packets == 0);
}

TEST_CASE("lb ping: echo replies share the ICMP answer rate, over it dropped and counted", "[lb][ping]") {
    for (bool v6 : {false, true}) {
        DYNAMIC_SECTION((v6 ? "IPv6" : "IPv4")) {
            PinnedCpu cpu;
            LbHarness lb;
            const char* client = v6 ? kClient6 : kClient4;
            const char* vip = v6 ? kVip6 : kVip4;
            ServiceSpec s = answering(vip);
            s.mode = v6 ? JL_MODE_IP6IP6 : JL_MODE_IPIP;
            s.mtu = 1400;
            install(lb, s);
            lb.set_icmp_answer_rate(0, 2);
            const Bytes ping = echo(client, vip).build();
            // One too-big answer and one echo reply spend the second's budget of 2.
            Packet big;
            big.eth(kLbMac, kPeerMac);
            if (v6)
                big.ipv6(client, vip).tcp(40000, 80).payload_size(1400);
            else
                big.ipv4(client, vip).df().tcp(40000, 80).payload_size(1400);
            CHECK(lb.run(big.build()).verdict == XDP_TX);
            expect_run(lb, ping, XDP_TX, echo_reply(client, vip), JL_CNT_TX_ECHO_REPLY);
            expect_drop(lb, ping, JL_CNT_DROP_ECHO_RATE);
            expect_drop(lb, big.build(), JL_CNT_DROP_ICMP_RATE);
            expect_drop(lb, ping, JL_CNT_DROP_ECHO_RATE);
            // The next second, answers again.
            lb.expire_icmp_windows();
            expect_run(lb, ping, XDP_TX, echo_reply(client, vip), JL_CNT_TX_ECHO_REPLY);
            // 0: no limit.
            lb.set_icmp_answer_rate(0, 0);
            for (int i = 0; i < 5; ++i) CHECK(lb.run(ping).verdict == XDP_TX);
        }
    }
}

TEST_CASE("lb ping: answer_ping changes with the side, atomically with the catalogue", "[lb][ping]") {
    for (bool v6 : {false, true}) {
        DYNAMIC_SECTION((v6 ? "IPv6" : "IPv4")) {
            LbHarness lb;
            const char* client = v6 ? kClient6 : kClient4;
            const char* vip = v6 ? kVip6 : kVip4;
            ServiceSpec old_side;
            old_side.vip = vip;
            install(lb, old_side);
            ServiceSpec new_side = answering(vip);
            new_side.side = 1;
            install(lb, new_side);
            const Bytes ping = echo(client, vip).build();
            expect_pass(lb, ping, JL_CNT_PASS_NOT_VIP);
            lb.set_active(1);
            expect_run(lb, ping, XDP_TX, echo_reply(client, vip), JL_CNT_TX_ECHO_REPLY);
            lb.set_active(2);
            expect_pass(lb, ping, JL_CNT_PASS_NOT_VIP);
        }
    }
}
