// l2 (direct server return) forwarding: only the Ethernet addresses change, the IP
// packet goes to the backend byte for byte. Also: backend choice by the flow hash,
// the connection table entry a new flow leaves, per-service and per-backend
// counters, port-0 services, source affinity, VLAN tags and redirect.
#include <catch2/catch.hpp>

#include <set>

#include "lb_fixture.h"

using namespace julier::test;
using namespace julier::test::lbfix;

namespace {

// A TCP or UDP packet from a client to a service, as received and as it must leave.
Bytes flow_frame(const Mac& dst, const Mac& src, std::string_view client, std::string_view vip, uint16_t sport,
                 uint16_t dport, uint8_t proto, std::optional<uint16_t> vlan = std::nullopt, uint8_t ttl = 64,
                 uint8_t tcp_flags = kTcpSyn) {
    Packet p;
    p.eth(dst, src);
    if (vlan) p.vlan(*vlan, 3);
    if (is_v6(client))
        p.ipv6(client, vip);
    else
        p.ipv4(client, vip).df();
    p.ttl(ttl).tos(0x28);
    if (proto == IPPROTO_TCP)
        p.tcp(sport, dport).flags(tcp_flags).seq(7);
    else
        p.udp(sport, dport);
    p.payload("julier forwards this untouched");
    return p.build();
}

}  // namespace

TEST_CASE("lb l2: a new flow goes to the backend its hash picks, MACs rewritten, IP untouched", "[lb][l2]") {
    struct Case {
        const char* name;
        std::string client, vip;
        uint8_t proto;
        std::optional<uint16_t> vlan;
    };
    const Case cases[] = {
        {"IPv4 TCP", kClient4, kVip4, IPPROTO_TCP, {}},
        {"IPv4 UDP", kClient4, kVip4, IPPROTO_UDP, {}},
        {"IPv6 TCP", kClient6, kVip6, IPPROTO_TCP, {}},
        {"IPv6 UDP", kClient6, kVip6, IPPROTO_UDP, {}},
        {"IPv4 TCP behind an 802.1Q tag", kClient4, kVip4, IPPROTO_TCP, uint16_t{100}},
        {"IPv6 UDP behind an 802.1Q tag", kClient6, kVip6, IPPROTO_UDP, uint16_t{4000}},
    };
    for (const Case& c : cases) {
        SECTION(c.name) {
            LbHarness lb;
            ServiceSpec s;
            s.vip = c.vip;
            s.port = 443;
            s.proto = c.proto;
            s.service_id = 3;
            s.slots = 13;
            s.first_backend = 20;
            install(lb, s);

            uint32_t id = pick(s, ref_flow_hash(c.client, c.vip, 40001, 443, c.proto));
            Bytes in = flow_frame(kLbMac, kPeerMac, c.client, c.vip, 40001, 443, c.proto, c.vlan);
            Bytes out = flow_frame(backend_mac(id), kLbMac, c.client, c.vip, 40001, 443, c.proto, c.vlan);
            expect_run(lb, in, XDP_TX, out, JL_CNT_TX_FORWARD);

            // The connection table holds the flow as the client sent it.
            auto entry = lb.flow(flow_key(c.client, c.vip, 40001, 443, c.proto));
            REQUIRE(entry);
            CHECK(entry->backend_id == id);
            CHECK(entry->service_id == 3);
            CHECK(lb.flow_keys().size() == 1);

            auto svc = lb.service_stats(3);
            CHECK(svc.packets == 1);
            CHECK(svc.bytes == in.size());
            CHECK(svc.new_flows == 1);
            auto be = lb.backend_stats(id);
            CHECK(be.packets == 1);
            CHECK(be.bytes == in.size());
            CHECK(be.new_flows == 1);

            // The next packet of the flow is established (for TCP, an ACK: a SYN would be
            // placed by the ring and counted again): same output, no new flow.
            Bytes next = flow_frame(kLbMac, kPeerMac, c.client, c.vip, 40001, 443, c.proto, c.vlan, 64, kTcpAck);
            Bytes next_out =
                flow_frame(backend_mac(id), kLbMac, c.client, c.vip, 40001, 443, c.proto, c.vlan, 64, kTcpAck);
            expect_run(lb, next, XDP_TX, next_out, JL_CNT_TX_FORWARD);
            CHECK(lb.service_stats(3).new_flows == 1);
            CHECK(lb.service_stats(3).packets == 2);
            CHECK(lb.backend_stats(id).packets == 2);
            CHECK(lb.backend_stats(id).new_flows == 1);
        }
    }
}

TEST_CASE("lb l2: TTL is not touched, even at 1 (a MAC rewrite is not a routing hop)", "[lb][l2]") {
    LbHarness lb;
    ServiceSpec s;
    install(lb, s);
    uint32_t id = pick(s, ref_flow_hash(kClient4, kVip4, 5555, 80, IPPROTO_TCP));
    Bytes in = flow_frame(kLbMac, kPeerMac, kClient4, kVip4, 5555, 80, IPPROTO_TCP, {}, 1);
    Bytes out = flow_frame(backend_mac(id), kLbMac, kClient4, kVip4, 5555, 80, IPPROTO_TCP, {}, 1);
    expect_run(lb, in, XDP_TX, out, JL_CNT_TX_FORWARD);
}

TEST_CASE("lb l2: every flow reaches ring[hash % ring_size]", "[lb][l2][hash]") {
    LbHarness lb;
    ServiceSpec v4;
    v4.slots = 31;
    v4.first_backend = 0;
    install(lb, v4);
    ServiceSpec v6;
    v6.vip = kVip6;
    v6.proto = IPPROTO_UDP;
    v6.port = 53;
    v6.service_id = 2;
    v6.slots = 29;
    v6.first_backend = 32;
    v6.ring_offset = 100;
    install(lb, v6);

    std::vector<int> seen(64, 0);
    for (uint16_t i = 0; i < 200; i++) {
        uint16_t sport = static_cast<uint16_t>(1024 + i * 97);
        std::string client4 = "198.18.0." + std::to_string(1 + i % 200);
        Bytes f4 = flow_frame(kLbMac, kPeerMac, client4, kVip4, sport, 80, IPPROTO_TCP);
        int got4 = l2_backend_of(lb, f4);
        CHECK(got4 == static_cast<int>(pick(v4, ref_flow_hash(client4, kVip4, sport, 80, IPPROTO_TCP))));
        Bytes f6 = flow_frame(kLbMac, kPeerMac, kClient6, kVip6, sport, 53, IPPROTO_UDP);
        int got6 = l2_backend_of(lb, f6);
        CHECK(got6 == static_cast<int>(pick(v6, ref_flow_hash(kClient6, kVip6, sport, 53, IPPROTO_UDP))));
        if (got4 >= 0) seen[got4]++;
        if (got6 >= 0) seen[got6]++;
    }
    // 200 flows over 31 and 29 slots: a hash that spreads reaches most of them.
    int used = 0;
    for (int n : seen) used += n > 0;
    CHECK(used > 45);
    CHECK(lb.counter(JL_CNT_TX_FORWARD).packets == 400);
}

TEST_CASE("lb l2: a port-0 service takes every port; a service on the port wins", "[lb][l2]") {
    LbHarness lb;
    ServiceSpec any;  // every TCP port of the VIP
    any.port = 0;
    any.service_id = 1;
    any.slots = 5;
    any.first_backend = 0;
    install(lb, any);
    ServiceSpec https;
    https.port = 443;
    https.service_id = 2;
    https.slots = 3;
    https.first_backend = 10;
    https.ring_offset = 5;
    install(lb, https);

    for (uint16_t port : {22, 80, 8080, 65535}) {
        uint32_t id = pick(any, ref_flow_hash(kClient4, kVip4, 33333, port, IPPROTO_TCP));
        Bytes in = flow_frame(kLbMac, kPeerMac, kClient4, kVip4, 33333, port, IPPROTO_TCP);
        expect_run(lb, in, XDP_TX, flow_frame(backend_mac(id), kLbMac, kClient4, kVip4, 33333, port, IPPROTO_TCP),
                   JL_CNT_TX_FORWARD);
    }
    uint32_t id = pick(https, ref_flow_hash(kClient4, kVip4, 33333, 443, IPPROTO_TCP));
    Bytes in = flow_frame(kLbMac, kPeerMac, kClient4, kVip4, 33333, 443, IPPROTO_TCP);
    expect_run(lb, in, XDP_TX, flow_frame(backend_mac(id), kLbMac, kClient4, kVip4, 33333, 443, IPPROTO_TCP),
               JL_CNT_TX_FORWARD);
    CHECK(lb.service_stats(1).packets == 4);
    CHECK(lb.service_stats(2).packets == 1);

    // The port-0 service is TCP only: UDP to the address is not for a service.
    expect_pass(lb, flow_frame(kLbMac, kPeerMac, kClient4, kVip4, 33333, 80, IPPROTO_UDP), JL_CNT_PASS_NOT_VIP);
}

TEST_CASE("lb l2: source affinity sends every flow of a client to one backend", "[lb][l2]") {
    for (const char* client : {kClient4, kClient6}) {
        SECTION(client) {
            LbHarness lb;
            ServiceSpec s;
            s.vip = is_v6(client) ? kVip6 : kVip4;
            s.flags = JL_VIP_F_SOURCE_AFFINITY;
            s.slots = 17;
            install(lb, s);
            uint32_t id = pick(s, ref_source_hash(client));
            for (uint16_t sport = 2000; sport < 2040; sport++) {
                Bytes in = flow_frame(kLbMac, kPeerMac, client, s.vip, sport, 80, IPPROTO_TCP);
                expect_run(lb, in, XDP_TX, flow_frame(backend_mac(id), kLbMac, client, s.vip, sport, 80, IPPROTO_TCP),
                           JL_CNT_TX_FORWARD);
            }
            // Still one connection table entry per flow.
            CHECK(lb.flow_keys().size() == 40);
            CHECK(lb.service_stats(1).new_flows == 40);
            // Another client may land elsewhere, by its own source hash.
            std::string other = is_v6(client) ? kClient6b : kClient4b;
            Bytes in = flow_frame(kLbMac, kPeerMac, other, s.vip, 2000, 80, IPPROTO_TCP);
            CHECK(l2_backend_of(lb, in) == static_cast<int>(pick(s, ref_source_hash(other))));
        }
    }
}

TEST_CASE("lb l2: hash no_source_port sends a client's connections to one port to one backend", "[lb][l2][hash]") {
    for (const char* client : {kClient4, kClient6}) {
        SECTION(client) {
            LbHarness lb;
            ServiceSpec s;
            s.vip = is_v6(client) ? kVip6 : kVip4;
            s.flags = JL_VIP_F_HASH_NO_SOURCE_PORT;
            s.slots = 17;
            install(lb, s);
            const uint32_t id = pick(s, ref_no_source_port_hash(client, s.vip, 80, IPPROTO_TCP));
            for (uint16_t sport = 2000; sport < 2040; sport++) {
                Bytes in = flow_frame(kLbMac, kPeerMac, client, s.vip, sport, 80, IPPROTO_TCP);
                expect_run(lb, in, XDP_TX, flow_frame(backend_mac(id), kLbMac, client, s.vip, sport, 80, IPPROTO_TCP),
                           JL_CNT_TX_FORWARD);
            }
            CHECK(lb.flow_keys().size() == 40);  // still an entry per connection
            // Other clients land by their own addresses: over 40 of them, more than one backend.
            std::set<int> seen;
            for (int i = 0; i < 40; i++) {
                const std::string other =
                    is_v6(client) ? "2001:db8:7::" + std::to_string(i + 1) : "198.18.7." + std::to_string(i + 1);
                Bytes in = flow_frame(kLbMac, kPeerMac, other, s.vip, 2000, 80, IPPROTO_TCP);
                const int got = l2_backend_of(lb, in);
                CHECK(got == static_cast<int>(pick(s, ref_no_source_port_hash(other, s.vip, 80, IPPROTO_TCP))));
                seen.insert(got);
            }
            CHECK(seen.size() > 1);
        }
    }
}

TEST_CASE("lb l2: hash destination_port sends every flow to one port to one backend", "[lb][l2][hash]") {
    for (const char* client : {kClient4, kClient6}) {
        SECTION(client) {
            LbHarness lb;
            ServiceSpec s;
            s.vip = is_v6(client) ? kVip6 : kVip4;
            s.port = 0;  // every port
            s.flags = JL_VIP_F_HASH_DESTINATION_PORT;
            s.slots = 17;
            install(lb, s);
            const std::string other = is_v6(client) ? kClient6b : kClient4b;
            std::set<int> seen;
            for (uint16_t dport = 5000; dport < 5040; dport++) {
                const int want = static_cast<int>(pick(s, ref_destination_port_hash(dport, IPPROTO_TCP)));
                INFO("port " << dport);
                // Two clients, two source ports each: one backend for the port.
                for (const std::string& c : {std::string(client), other})
                    for (uint16_t sport : {1111, 2222})
                        CHECK(l2_backend_of(lb, flow_frame(kLbMac, kPeerMac, c, s.vip, sport, dport, IPPROTO_TCP)) ==
                              want);
                seen.insert(want);
            }
            CHECK(seen.size() > 1);  // the ports spread over the backends
        }
    }
}

TEST_CASE("lb l2: the backend entry's source MAC replaces the received destination", "[lb][l2]") {
    LbHarness lb;
    ServiceSpec s;
    s.src_mac = kEgressMac;
    install(lb, s);
    uint32_t id = pick(s, ref_flow_hash(kClient4, kVip4, 1234, 80, IPPROTO_TCP));
    Bytes in = flow_frame(kLbMac, kPeerMac, kClient4, kVip4, 1234, 80, IPPROTO_TCP);
    expect_run(lb, in, XDP_TX, flow_frame(backend_mac(id), kEgressMac, kClient4, kVip4, 1234, 80, IPPROTO_TCP),
               JL_CNT_TX_FORWARD);
}

TEST_CASE("lb l2: a backend on another device is reached by redirect", "[lb][l2]") {
    LbHarness lb;
    ServiceSpec s;
    s.vip = kVip6;
    s.src_mac = kEgressMac;
    s.ifindex = 7;
    install(lb, s);
    uint32_t id = pick(s, ref_flow_hash(kClient6, kVip6, 1234, 80, IPPROTO_TCP));
    Bytes in = flow_frame(kLbMac, kPeerMac, kClient6, kVip6, 1234, 80, IPPROTO_TCP, uint16_t{12});
    expect_run(lb, in, XDP_REDIRECT,
               flow_frame(backend_mac(id), kEgressMac, kClient6, kVip6, 1234, 80, IPPROTO_TCP, uint16_t{12}),
               JL_CNT_REDIRECT_FORWARD);
    CHECK(lb.service_stats(1).packets == 1);
    CHECK(lb.backend_stats(id).packets == 1);
}

TEST_CASE("lb l2: Ethernet padding after the IP packet travels with it", "[lb][l2]") {
    LbHarness lb;
    ServiceSpec s;
    install(lb, s);
    uint32_t id = pick(s, ref_flow_hash(kClient4, kVip4, 999, 80, IPPROTO_TCP));
    Packet p;
    p.eth(kLbMac, kPeerMac).ipv4(kClient4, kVip4).tcp(999, 80).flags(kTcpAck);
    Bytes in = p.build();
    Bytes out = Packet(p)
                    .with<EthLayer>([&](EthLayer& e) {
                        e.dst = backend_mac(id);
                        e.src = kLbMac;
                    })
                    .build();
    // A 54-byte frame padded to the Ethernet minimum of 60.
    in.resize(60, 0);
    out.resize(60, 0);
    expect_run(lb, in, XDP_TX, out, JL_CNT_TX_FORWARD, false);
}
