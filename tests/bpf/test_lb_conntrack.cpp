// The connection table and the double-buffered catalogue (docs/forwarder.md,
// "Choosing a backend"): established flows keep their backend across ring changes
// while it takes flows (up or draining), and are re-picked when it is gone, down or
// belongs elsewhere; an apply becomes visible only when jl_active flips; fragments
// of one datagram share a backend without connection tracking; services without a
// usable backend drop, counted.
#include <catch2/catch.hpp>

#include "lb_fixture.h"

using namespace julier::test;
using namespace julier::test::lbfix;

namespace {

Bytes syn(std::string_view client, std::string_view vip, uint16_t sport, uint16_t dport = 80) {
    return tcp_frame(client, vip, sport, kTcpSyn, dport);
}
// A packet of an established connection: the table decides (a SYN would go to the ring).
Bytes ack(std::string_view client, std::string_view vip, uint16_t sport, uint16_t dport = 80) {
    return tcp_frame(client, vip, sport, kTcpAck, dport);
}

Bytes to_backend(const Bytes& in, uint32_t id) {
    Bytes out = in;
    const Mac dst = backend_mac(id);
    std::copy(dst.begin(), dst.end(), out.begin());
    std::copy(kLbMac.begin(), kLbMac.end(), out.begin() + 6);
    return out;
}

// Side 1 of the same service with a different ring: slots hold ids 40.., so any
// fresh pick lands there, never on side 0's backends.
ServiceSpec next_generation(const ServiceSpec& s0) {
    ServiceSpec s1 = s0;
    s1.side = 1;
    s1.first_backend = 40;
    s1.slots = 5;
    s1.ring_offset = 0;
    return s1;
}

}  // namespace

TEST_CASE("lb conntrack: an established flow keeps its backend when the ring changes", "[lb][conntrack]") {
    for (const char* client : {kClient4, kClient6}) {
        DYNAMIC_SECTION(client) {
            LbHarness lb;
            ServiceSpec s0;
            s0.vip = is_v6(client) ? kVip6 : kVip4;
            install(lb, s0);
            Bytes in = syn(client, s0.vip, 1111);
            uint32_t owner = pick(s0, ref_flow_hash(client, s0.vip, 1111, 80, IPPROTO_TCP));
            expect_run(lb, in, XDP_TX, to_backend(in, owner), JL_CNT_TX_FORWARD);

            // Next generation: another ring; the owner is still a backend of the service.
            ServiceSpec s1 = next_generation(s0);
            install(lb, s1);
            lb.put_backend(1, owner, backend_value(s0, owner));
            lb.set_active(1);

            Bytes est = ack(client, s0.vip, 1111);
            expect_run(lb, est, XDP_TX, to_backend(est, owner), JL_CNT_TX_FORWARD);
            // A new flow follows the new ring.
            Bytes fresh = syn(client, s0.vip, 2222);
            uint32_t id = pick(s1, ref_flow_hash(client, s0.vip, 2222, 80, IPPROTO_TCP));
            expect_run(lb, fresh, XDP_TX, to_backend(fresh, id), JL_CNT_TX_FORWARD);
            CHECK(lb.service_stats(1).new_flows == 2);
        }
    }
}

TEST_CASE("lb conntrack: a flow whose backend is gone, down or reassigned is re-picked", "[lb][conntrack]") {
    struct Case {
        const char* name;
        std::function<jl_backend(jl_backend)> change;  // the owner's entry on the new side
    };
    const Case cases[] = {
        {"removed (empty slot)", [](jl_backend) { return jl_backend{}; }},
        {"marked down",
         [](jl_backend b) {
             b.flags = 0;
             return b;
         }},
        {"given to another service",
         [](jl_backend b) {
             b.service_id = 9;
             return b;
         }},
    };
    for (const Case& c : cases) {
        SECTION(c.name) {
            LbHarness lb;
            ServiceSpec s0;
            install(lb, s0);
            Bytes in = syn(kClient4, kVip4, 1111);
            uint32_t hash = ref_flow_hash(kClient4, kVip4, 1111, 80, IPPROTO_TCP);
            uint32_t owner = pick(s0, hash);
            lb.run(in);

            ServiceSpec s1 = next_generation(s0);
            install(lb, s1);
            lb.put_backend(1, owner, c.change(backend_value(s0, owner)));
            lb.set_active(1);

            uint32_t repick = pick(s1, hash);
            Bytes est = ack(kClient4, kVip4, 1111);
            expect_run(lb, est, XDP_TX, to_backend(est, repick), JL_CNT_TX_FORWARD);
            auto entry = lb.flow(flow_key(kClient4, kVip4, 1111, 80, IPPROTO_TCP));
            REQUIRE(entry);
            CHECK(entry->backend_id == repick);  // the table now says so
            CHECK(lb.service_stats(1).new_flows == 2);
            CHECK(lb.service_stats(1).nonsyn_miss == 0);  // a re-pick, not a miss
            // And it stays there.
            expect_run(lb, est, XDP_TX, to_backend(est, repick), JL_CNT_TX_FORWARD);
            CHECK(lb.service_stats(1).new_flows == 2);
        }
    }
}

TEST_CASE("lb conntrack: a draining backend keeps its flows but takes no new ones", "[lb][conntrack]") {
    LbHarness lb;
    ServiceSpec s0;
    install(lb, s0);
    Bytes in = syn(kClient4, kVip4, 3333);
    uint32_t owner = pick(s0, ref_flow_hash(kClient4, kVip4, 3333, 80, IPPROTO_TCP));
    lb.run(in);

    // Drain: the owner leaves the ring (side 1 holds ids 40..44 only) but keeps the flag.
    ServiceSpec s1 = next_generation(s0);
    install(lb, s1);
    lb.put_backend(1, owner, backend_value(s0, owner));
    lb.set_active(1);
    Bytes est = ack(kClient4, kVip4, 3333);
    for (int i = 0; i < 3; i++) expect_run(lb, est, XDP_TX, to_backend(est, owner), JL_CNT_TX_FORWARD);

    // All backends draining: the ring is empty, established flows still get through.
    ServiceSpec empty = s0;
    empty.slots = 0;
    install(lb, empty);
    lb.put_backend(0, owner, backend_value(s0, owner));
    lb.set_active(2);
    expect_run(lb, est, XDP_TX, to_backend(est, owner), JL_CNT_TX_FORWARD);
    expect_drop(lb, syn(kClient4, kVip4, 4444), JL_CNT_DROP_NO_BACKEND);
    // A new connection on the drained backend's tuple is placed by the ring: here
    // there is none, so it is dropped rather than sent to the draining backend.
    expect_drop(lb, in, JL_CNT_DROP_NO_BACKEND);
}

TEST_CASE("lb conntrack: a flow entry of another service is not followed", "[lb][conntrack]") {
    LbHarness lb;
    ServiceSpec s;
    install(lb, s);
    Bytes in = ack(kClient4, kVip4, 5555);
    uint32_t id = pick(s, ref_flow_hash(kClient4, kVip4, 5555, 80, IPPROTO_TCP));
    // A stale entry left by a service that had this VIP:port before.
    lb.put_flow(flow_key(kClient4, kVip4, 5555, 80, IPPROTO_TCP), jl_flow{(id + 1) % 7, 77, 0, 0, 0});
    expect_run(lb, in, XDP_TX, to_backend(in, id), JL_CNT_TX_FORWARD);
    CHECK(lb.flow(flow_key(kClient4, kVip4, 5555, 80, IPPROTO_TCP))->service_id == 1);
    CHECK(lb.service_stats(1).nonsyn_miss == 1);  // absent for this service: a miss
}

TEST_CASE("lb conntrack: an apply is invisible until jl_active flips, then whole", "[lb][conntrack]") {
    LbHarness lb;
    ServiceSpec old_svc;  // side 0: VIP:80 -> ids 0..6
    install(lb, old_svc);
    // Side 1, written while side 0 is live: VIP:80 -> ids 20..22 and a new VIP:443.
    ServiceSpec moved = old_svc;
    moved.side = 1;
    moved.first_backend = 20;
    moved.slots = 3;
    install(lb, moved);
    ServiceSpec added;
    added.side = 1;
    added.vip = kOther4;
    added.port = 443;
    added.service_id = 2;
    added.first_backend = 30;
    added.slots = 2;
    added.ring_offset = 10;
    install(lb, added);

    Bytes web = syn(kClient4, kVip4, 7000);
    Bytes tls = syn(kClient4, kOther4, 7000, 443);
    uint32_t h_web = ref_flow_hash(kClient4, kVip4, 7000, 80, IPPROTO_TCP);
    uint32_t h_tls = ref_flow_hash(kClient4, kOther4, 7000, 443, IPPROTO_TCP);

    // Generation 0 (side 0).
    CHECK(l2_backend_of(lb, web) == static_cast<int>(pick(old_svc, h_web)));
    expect_pass(lb, tls, JL_CNT_PASS_NOT_VIP);
    // Generation 1 (side 1): both changes at once. The connection table is cleared
    // in between so that the ring decides.
    lb.set_active(1);
    for (const auto& k : lb.flow_keys()) bpf_map_delete_elem(bpf_map__fd(lb.skel().maps.jl_flows), &k);
    CHECK(l2_backend_of(lb, web) == static_cast<int>(pick(moved, h_web)));
    CHECK(l2_backend_of(lb, tls) == static_cast<int>(pick(added, h_tls)));
    // Generation 2 is side 0 again; generation 3 side 1.
    lb.set_active(2);
    expect_pass(lb, tls, JL_CNT_PASS_NOT_VIP);
    lb.set_active(3);
    CHECK(l2_backend_of(lb, tls) == static_cast<int>(pick(added, h_tls)));
}

TEST_CASE("lb conntrack: services without a usable backend drop, counted", "[lb][conntrack]") {
    LbHarness lb;
    SECTION("ring size 0") {
        ServiceSpec s;
        s.slots = 0;
        install(lb, s);
        expect_drop(lb, syn(kClient4, kVip4, 1), JL_CNT_DROP_NO_BACKEND);
    }
    SECTION("a ring slot naming an empty backend entry") {
        ServiceSpec s;
        s.slots = 1;
        install(lb, s);
        lb.put_backend(0, 0, jl_backend{});
        expect_drop(lb, syn(kClient4, kVip4, 1), JL_CNT_DROP_BAD_BACKEND);
    }
    SECTION("a ring slot naming another service's backend") {
        ServiceSpec s;
        s.slots = 1;
        install(lb, s);
        jl_backend b = backend_value(s, 0);
        b.service_id = 2;
        lb.put_backend(0, 0, b);
        expect_drop(lb, syn(kClient4, kVip4, 1), JL_CNT_DROP_BAD_BACKEND);
    }
    SECTION("a ring slot naming a backend id out of range") {
        ServiceSpec s;
        s.slots = 1;
        install(lb, s);
        std::vector<uint32_t> ring{lb.sizes().max_backends};
        lb.put_ring(0, 0, ring);
        expect_drop(lb, syn(kClient4, kVip4, 1), JL_CNT_DROP_BAD_BACKEND);
    }
    CHECK(lb.flow_keys().empty());
}

TEST_CASE("lb conntrack: a service whose ring would overrun its side drops instead", "[lb][conntrack]") {
    LbHarness lb;
    // Slots 0..2 are the side's last three; slots 3..6 would read side 1's ring.
    ServiceSpec s;
    s.slots = 7;
    s.ring_offset = lb.sizes().ring_capacity - 3;
    lb.put_vip(vip_key(kVip4, 80, IPPROTO_TCP), vip_value(s));
    lb.filter_add(0, kVip4);
    lb.put_backend(0, 0, backend_value(s, 0));
    std::vector<uint32_t> ids{0, 0, 0};
    lb.put_ring(0, s.ring_offset, ids);
    int forwarded = 0, dropped = 0;
    for (uint16_t sport = 1; sport < 60; sport++) {
        uint32_t slot = ref_flow_hash(kClient4, kVip4, sport, 80, IPPROTO_TCP) % 7;
        Bytes in = syn(kClient4, kVip4, sport);
        if (slot < 3) {
            expect_run(lb, in, XDP_TX, to_backend(in, 0), JL_CNT_TX_FORWARD);
            forwarded++;
        } else {
            expect_drop(lb, in, JL_CNT_DROP_BAD_BACKEND);
            dropped++;
        }
    }
    CHECK(forwarded > 0);
    CHECK(dropped > 0);
}

TEST_CASE("lb conntrack: the fragments of a datagram share a backend, chosen by address pair", "[lb][frag]") {
    LbHarness lb;
    ServiceSpec s4;
    s4.proto = IPPROTO_UDP;
    s4.port = 53;
    s4.slots = 13;
    install(lb, s4);
    ServiceSpec s6 = s4;
    s6.vip = kVip6;
    s6.service_id = 2;
    s6.first_backend = 20;
    s6.ring_offset = 20;
    install(lb, s6);

    SECTION("IPv4: first fragment with the UDP header, then a later one") {
        uint32_t id = pick(s4, ref_pair_hash(kClient4, kVip4));
        Bytes first = Packet()
                          .eth(kLbMac, kPeerMac)
                          .ipv4(kClient4, kVip4)
                          .id(77)
                          .mf()
                          .udp(5000, 53)
                          .udp_length(1208)
                          .l4_checksum(0x1234)
                          .payload_size(592)
                          .build();
        Bytes later = Packet()
                          .eth(kLbMac, kPeerMac)
                          .ipv4(kClient4, kVip4)
                          .id(77)
                          .frag_offset(75)
                          .ip_proto(IPPROTO_UDP)
                          .payload_size(600)
                          .build();
        expect_run(lb, first, XDP_TX, to_backend(first, id), JL_CNT_TX_FORWARD, false);
        expect_run(lb, later, XDP_TX, to_backend(later, id), JL_CNT_TX_FORWARD, false);
        // Another source port of the same client: same backend, since ports are not used.
        Bytes other = Packet()
                          .eth(kLbMac, kPeerMac)
                          .ipv4(kClient4, kVip4)
                          .id(78)
                          .mf()
                          .udp(6000, 53)
                          .udp_length(1208)
                          .l4_checksum(0x1234)
                          .payload_size(592)
                          .build();
        CHECK(l2_backend_of(lb, other) == static_cast<int>(id));
    }
    SECTION("IPv6: fragment headers") {
        uint32_t id = pick(s6, ref_pair_hash(kClient6, kVip6));
        Bytes first = Packet()
                          .eth(kLbMac, kPeerMac)
                          .ipv6(kClient6, kVip6)
                          .fragment6(0, true, 99)
                          .udp(5000, 53)
                          .udp_length(1208)
                          .l4_checksum(0x1234)
                          .payload_size(592)
                          .build();
        Bytes later = Packet()
                          .eth(kLbMac, kPeerMac)
                          .ipv6(kClient6, kVip6)
                          .fragment6(75, false, 99)
                          .ip_proto(IPPROTO_UDP)
                          .payload_size(600)
                          .build();
        expect_run(lb, first, XDP_TX, to_backend(first, id), JL_CNT_TX_FORWARD, false);
        expect_run(lb, later, XDP_TX, to_backend(later, id), JL_CNT_TX_FORWARD, false);
    }
    SECTION("fragments for an address without a fragment service pass") {
        Bytes later = Packet()
                          .eth(kLbMac, kPeerMac)
                          .ipv4(kClient4, kOther4)
                          .frag_offset(75)
                          .ip_proto(IPPROTO_UDP)
                          .payload_size(600)
                          .build();
        expect_pass(lb, later, JL_CNT_PASS_NOT_VIP);
        Bytes tcp = Packet()
                        .eth(kLbMac, kPeerMac)
                        .ipv4(kClient4, kVip4)
                        .frag_offset(75)
                        .ip_proto(IPPROTO_TCP)
                        .payload_size(600)
                        .build();
        expect_pass(lb, tcp, JL_CNT_PASS_NOT_VIP);
    }
    // Fragments are never connection-tracked, but they count for the service.
    CHECK(lb.flow_keys().empty());
    CHECK(lb.service_stats(1).new_flows + lb.service_stats(2).new_flows == 0);
}

TEST_CASE("lb conntrack: fragments are encapsulated with a byte-summed GUE checksum", "[lb][frag]") {
    LbHarness lb;
    ServiceSpec s;
    s.proto = IPPROTO_UDP;
    s.port = 53;
    s.mode = JL_MODE_GUE;
    s.backend_family = "6";
    install(lb, s);
    uint32_t hash = ref_pair_hash(kClient4, kVip4);
    uint32_t id = pick(s, hash);
    auto frame = [&](bool out) {
        Packet p;
        p.eth(out ? kNextHopMac : kLbMac, out ? kLbMac : kPeerMac);
        if (out) {
            p.ipv6(kTunnelSrc6, backend6(id)).ttl(64).flow_label(hash & 0xfffff);
            p.udp(static_cast<uint16_t>(JL_GUE_SPORT_MIN + (hash & JL_GUE_SPORT_MASK)), 6080).gue();
        }
        p.ipv4(kClient4, kVip4).id(5).ttl(out ? 63 : 64).frag_offset(20).ip_proto(IPPROTO_UDP).payload_size(333);
        return p.build();
    };
    expect_run(lb, frame(false), XDP_TX, frame(true), JL_CNT_TX_FORWARD);
}
