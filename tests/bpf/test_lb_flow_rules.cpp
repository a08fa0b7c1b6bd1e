// The connection table's TCP and UDP rules (docs/forwarder.md, "Flows"): a SYN is
// placed by the ring and overwrites its tuple's entry; FIN and RST that miss write
// nothing, and on an entry start a linger after which it counts as absent; a TCP
// packet that opens nothing and misses is a nonsyn_miss, remembered; UDP entries
// expire after the service's idle timeout and are refreshed cheaply; an entry is one
// for every CPU.
#include <catch2/catch.hpp>

#include "cpu_pin.h"
#include "lb_fixture.h"

using namespace julier::test;
using namespace julier::test::lbfix;

namespace {
Bytes udp(std::string_view client, std::string_view vip, uint16_t sport) {
    Packet p;
    p.eth(kLbMac, kPeerMac);
    if (is_v6(client))
        p.ipv6(client, vip);
    else
        p.ipv4(client, vip);
    p.udp(sport, 53).payload("q");
    return p.build();
}

Bytes to_backend(const Bytes& in, uint32_t id) {
    Bytes out = in;
    const Mac dst = backend_mac(id);
    std::copy(dst.begin(), dst.end(), out.begin());
    std::copy(kLbMac.begin(), kLbMac.end(), out.begin() + 6);
    return out;
}

void expect_to(LbHarness& lb, const Bytes& in, uint32_t id) {
    INFO("to backend " << id);
    expect_run(lb, in, XDP_TX, to_backend(in, id), JL_CNT_TX_FORWARD);
}

// Side 0: ids 0..6; side 1 (the next generation): ids 40..44, so a fresh pick on
// side 1 never lands on a side-0 backend. `keep` (a side-0 id) stays a backend of
// the service on side 1 (draining: out of the ring, keeps its flows).
struct TwoRings {
    ServiceSpec s0, s1;
    TwoRings(LbHarness& lb, std::string_view vip, uint8_t proto = IPPROTO_TCP) {
        s0.vip = std::string(vip);
        s0.proto = proto;
        s0.port = proto == IPPROTO_TCP ? 80 : 53;
        install(lb, s0);
        s1 = s0;
        s1.side = 1;
        s1.first_backend = 40;
        s1.slots = 5;
        install(lb, s1);
    }
    void keep(LbHarness& lb, uint32_t id) const { lb.put_backend(1, id, backend_value(s0, id)); }
};

uint32_t tcp_hash(std::string_view client, std::string_view vip, uint16_t sport) {
    return ref_flow_hash(client, vip, sport, 80, IPPROTO_TCP);
}
jl_flow_key tcp_key(std::string_view client, std::string_view vip, uint16_t sport) {
    return flow_key(client, vip, sport, 80, IPPROTO_TCP);
}

}  // namespace

TEST_CASE("lb flows: a SYN on a known tuple follows the ring and rewrites the entry", "[lb][conntrack][rules]") {
    for (const char* client : {kClient4, kClient6}) {
        DYNAMIC_SECTION(client) {
            LbHarness lb;
            std::string vip = is_v6(client) ? kVip6 : kVip4;
            TwoRings r(lb, vip);
            const uint32_t h = tcp_hash(client, vip, 1111);
            const uint32_t a = pick(r.s0, h), b = pick(r.s1, h);
            expect_to(lb, tcp_frame(client, vip, 1111, kTcpSyn), a);
            CHECK(lb.service_stats(1).new_flows == 1);

            // The ring changes: A is drained (keeps its flows, out of the ring); B is the pick.
            r.keep(lb, a);
            lb.set_active(1);
            // The connection in progress stays with A.
            expect_to(lb, tcp_frame(client, vip, 1111, kTcpAck), a);
            expect_to(lb, tcp_frame(client, vip, 1111, kTcpAck | kTcpPsh), a);
            // A SYN+ACK opens nothing either: the table decides.
            expect_to(lb, tcp_frame(client, vip, 1111, kTcpSyn | kTcpAck), a);
            CHECK(lb.service_stats(1).new_flows == 1);

            // A new connection on the same tuple (a reused port) goes where the ring says.
            expect_to(lb, tcp_frame(client, vip, 1111, kTcpSyn), b);
            auto entry = lb.flow(tcp_key(client, vip, 1111));
            REQUIRE(entry);
            CHECK(entry->backend_id == b);
            CHECK(entry->service_id == 1);
            CHECK(entry->flags == 0);
            CHECK(lb.service_stats(1).new_flows == 2);
            // And its next packets follow the entry to B, not the drained A.
            expect_to(lb, tcp_frame(client, vip, 1111, kTcpAck), b);
            CHECK(lb.service_stats(1).nonsyn_miss == 0);
        }
    }
}

TEST_CASE("lb flows: a SYN over the flood rate removes its tuple's old entry", "[lb][conntrack][rules][flood]") {
    PinnedCpu cpu;
    LbHarness lb;
    TwoRings r(lb, kVip4);
    const uint32_t h = tcp_hash(kClient4, kVip4, 2222);
    const uint32_t a = pick(r.s0, h), b = pick(r.s1, h);
    lb.put_flow(tcp_key(kClient4, kVip4, 2222), jl_flow{a, 1, 0, 0, 0});
    r.keep(lb, a);
    lb.set_active(1);
    lb.set_flood_rate(1, 1);
    expect_to(lb, tcp_frame(kClient4, kVip4, 9, kTcpSyn),
              pick(r.s1, tcp_hash(kClient4, kVip4, 9)));  // spends the budget
    Bytes in = tcp_frame(kClient4, kVip4, 2222, kTcpSyn);
    expect_run(lb, in, XDP_TX, to_backend(in, b), JL_CNT_TX_FORWARD_FLOOD);
    CHECK_FALSE(lb.flow(tcp_key(kClient4, kVip4, 2222)));
    // The rest of the new connection follows the ring to B, not the old entry to A.
    Bytes rest = tcp_frame(kClient4, kVip4, 2222, kTcpAck);
    expect_run(lb, rest, XDP_TX, to_backend(rest, b), JL_CNT_TX_FORWARD_FLOOD);
    CHECK(lb.service_stats(1).nonsyn_miss == 1);  // counted although not remembered
}

TEST_CASE("lb flows: RST and FIN that miss are forwarded by the ring and write nothing", "[lb][conntrack][rules]") {
    const uint8_t flags[] = {kTcpRst,           kTcpRst | kTcpAck, kTcpFin,
                             kTcpFin | kTcpAck, kTcpSyn | kTcpFin, kTcpSyn | kTcpRst};
    for (uint8_t f : flags) {
        DYNAMIC_SECTION("flags " << int(f)) {
            LbHarness lb;
            ServiceSpec s;
            install(lb, s);
            for (uint16_t sport = 100; sport < 140; sport++)
                expect_to(lb, tcp_frame(kClient4, kVip4, sport, f), pick(s, tcp_hash(kClient4, kVip4, sport)));
            CHECK(lb.flow_keys().empty());
            CHECK(lb.service_stats(1).new_flows == 0);
            CHECK(lb.service_stats(1).nonsyn_miss == 0);
            CHECK(lb.service_stats(1).packets == 40);
        }
    }
}

TEST_CASE("lb flows: FIN and RST on an entry start its linger; past it the flow is re-picked",
          "[lb][conntrack][rules]") {
    LbHarness lb;
    TwoRings r(lb, kVip4);
    const uint16_t sport = 3333;
    const jl_flow_key key = tcp_key(kClient4, kVip4, sport);
    const uint32_t h = tcp_hash(kClient4, kVip4, sport);
    const uint32_t a = pick(r.s0, h), b = pick(r.s1, h);
    expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpSyn), a);
    r.keep(lb, a);
    lb.set_active(1);

    SECTION("FIN: a long linger; the final ACKs still reach the backend") {
        uint64_t t0 = coarse_ns();
        expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpFin | kTcpAck), a);
        uint64_t t1 = mono_ns();
        auto e = lb.flow(key);
        REQUIRE(e);
        CHECK(e->backend_id == a);
        CHECK(e->flags == JL_FLOW_F_FIN);
        CHECK(e->time_ns >= t0 + JL_TCP_FIN_LINGER_NS);
        CHECK(e->time_ns <= t1 + JL_TCP_FIN_LINGER_NS);
        const uint64_t deadline = e->time_ns;
        expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpAck), a);  // half-closed: ACKs of the backend's data
        // A retransmitted FIN does not lengthen the linger.
        expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpFin | kTcpAck), a);
        CHECK(lb.flow(key)->time_ns == deadline);
        // An RST shortens it.
        uint64_t t2 = coarse_ns();
        expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpRst), a);
        uint64_t t3 = mono_ns();
        e = lb.flow(key);
        CHECK(e->flags == (JL_FLOW_F_FIN | JL_FLOW_F_RST));
        CHECK(e->time_ns >= t2 + JL_TCP_RST_LINGER_NS);
        CHECK(e->time_ns <= t3 + JL_TCP_RST_LINGER_NS);
    }
    SECTION("RST: a short linger, not lengthened by a later FIN") {
        uint64_t t0 = coarse_ns();
        expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpRst | kTcpAck), a);
        uint64_t t1 = mono_ns();
        auto e = lb.flow(key);
        REQUIRE(e);
        CHECK(e->flags == JL_FLOW_F_RST);
        CHECK(e->time_ns >= t0 + JL_TCP_RST_LINGER_NS);
        CHECK(e->time_ns <= t1 + JL_TCP_RST_LINGER_NS);
        const uint64_t deadline = e->time_ns;
        expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpFin | kTcpAck), a);
        CHECK(lb.flow(key)->time_ns == deadline);
        CHECK(lb.flow(key)->flags == (JL_FLOW_F_FIN | JL_FLOW_F_RST));
    }
    // Either way: once the linger has passed (written into the past here) the entry
    // counts as absent. A FIN or RST then goes by the ring and writes nothing ...
    jl_flow ended = *lb.flow(key);
    ended.time_ns = coarse_ns() - 1;  // passed by the forwarder's clock too
    lb.put_flow(key, ended);
    expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpFin | kTcpAck), b);
    CHECK(lb.flow(key)->backend_id == a);
    CHECK(lb.flow(key)->time_ns == ended.time_ns);
    // ... and the next other packet is a nonsyn_miss: re-picked and remembered afresh.
    expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpAck), b);
    auto e = lb.flow(key);
    REQUIRE(e);
    CHECK(e->backend_id == b);
    CHECK(e->flags == 0);
    CHECK(e->time_ns == 0);
    CHECK(lb.service_stats(1).nonsyn_miss == 1);
    CHECK(lb.service_stats(1).new_flows == 1);  // the first SYN only
    expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpAck), b);
    CHECK(lb.service_stats(1).nonsyn_miss == 1);
}

TEST_CASE("lb flows: a lingering entry is followed until its end, then a SYN replaces it", "[lb][conntrack][rules]") {
    LbHarness lb;
    TwoRings r(lb, kVip4);
    const uint16_t sport = 4444;
    const jl_flow_key key = tcp_key(kClient4, kVip4, sport);
    const uint32_t h = tcp_hash(kClient4, kVip4, sport);
    const uint32_t a = pick(r.s0, h), b = pick(r.s1, h);
    r.keep(lb, a);
    lb.set_active(1);
    // An entry of A whose RST linger ends in a second: still followed.
    lb.put_flow(key, jl_flow{a, 1, mono_ns() + 1000000000ull, JL_FLOW_F_RST, 0});
    expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpAck), a);
    CHECK(lb.service_stats(1).nonsyn_miss == 0);
    // A SYN replaces it with a plain entry of the ring's pick.
    expect_to(lb, tcp_frame(kClient4, kVip4, sport, kTcpSyn), b);
    auto e = lb.flow(key);
    REQUIRE(e);
    CHECK(e->backend_id == b);
    CHECK(e->flags == 0);
    CHECK(e->time_ns == 0);
}

TEST_CASE("lb flows: a TCP packet that opens nothing and misses is a nonsyn_miss, remembered",
          "[lb][conntrack][rules]") {
    for (const char* client : {kClient4, kClient6}) {
        DYNAMIC_SECTION(client) {
            LbHarness lb;
            std::string vip = is_v6(client) ? kVip6 : kVip4;
            TwoRings r(lb, vip);
            const uint32_t h = tcp_hash(client, vip, 5555);
            const uint32_t a = pick(r.s0, h);
            // A flow that began on another box: its first packet here is an ACK.
            expect_to(lb, tcp_frame(client, vip, 5555, kTcpAck | kTcpPsh), a);
            auto e = lb.flow(tcp_key(client, vip, 5555));
            REQUIRE(e);
            CHECK(e->backend_id == a);
            CHECK(lb.service_stats(1).nonsyn_miss == 1);
            CHECK(lb.service_stats(1).new_flows == 0);
            // It stays put across a ring change.
            r.keep(lb, a);
            lb.set_active(1);
            expect_to(lb, tcp_frame(client, vip, 5555, kTcpAck), a);
            CHECK(lb.service_stats(1).nonsyn_miss == 1);
            CHECK(lb.service_stats(1).packets == 2);
        }
    }
}

TEST_CASE("lb flows: UDP entries expire after the service's idle timeout", "[lb][conntrack][rules][udp]") {
    LbHarness lb;
    ServiceSpec s;
    s.proto = IPPROTO_UDP;
    s.port = 53;
    s.slots = 7;
    s.udp_idle_timeout_ms = 30000;
    install(lb, s);
    const uint16_t sport = 6000;
    const jl_flow_key key = flow_key(kClient4, kVip4, sport, 53, IPPROTO_UDP);
    const uint32_t ring = pick(s, ref_flow_hash(kClient4, kVip4, sport, 53, IPPROTO_UDP));
    const uint32_t other = (ring + 1) % s.slots;  // a backend of the service the ring does not give
    Bytes in = udp(kClient4, kVip4, sport);

    SECTION("idle longer than the timeout: re-picked and rewritten") {
        lb.put_flow(key, jl_flow{other, 1, mono_ns() - 31000000000ull, 0, 0});
        uint64_t t0 = coarse_ns();
        expect_to(lb, in, ring);
        auto e = lb.flow(key);
        REQUIRE(e);
        CHECK(e->backend_id == ring);
        CHECK(e->time_ns >= t0);
        CHECK(e->time_ns <= mono_ns());
        CHECK(lb.service_stats(1).new_flows == 1);
        CHECK(lb.service_stats(1).nonsyn_miss == 0);
    }
    SECTION("idle for less: kept, and its last-seen time refreshed") {
        const uint64_t seen = mono_ns() - 29000000000ull;
        lb.put_flow(key, jl_flow{other, 1, seen, 0, 0});
        uint64_t t0 = coarse_ns();
        expect_to(lb, in, other);
        auto e = lb.flow(key);
        REQUIRE(e);
        CHECK(e->backend_id == other);
        CHECK(e->time_ns >= t0);
        CHECK(lb.service_stats(1).new_flows == 0);
    }
    SECTION("seen a moment ago: kept, and not written again") {
        const uint64_t seen = mono_ns() - 1000;  // far less than JL_UDP_REFRESH_NS
        lb.put_flow(key, jl_flow{other, 1, seen, 0, 0});
        expect_to(lb, in, other);
        CHECK(lb.flow(key)->time_ns == seen);
    }
    SECTION("timeout 0: never expires") {
        s.udp_idle_timeout_ms = 0;
        install(lb, s);
        lb.put_flow(key, jl_flow{other, 1, 1, 0, 0});  // last seen at boot
        expect_to(lb, in, other);
        CHECK(lb.flow(key)->time_ns == 1);  // nothing to refresh for
    }
    SECTION("a first packet stamps its entry") {
        uint64_t t0 = coarse_ns();
        expect_to(lb, in, ring);
        auto e = lb.flow(key);
        REQUIRE(e);
        CHECK(e->time_ns >= t0);
        CHECK(e->time_ns <= mono_ns());
        CHECK(lb.service_stats(1).new_flows == 1);
        expect_to(lb, in, ring);
        CHECK(lb.service_stats(1).new_flows == 1);
    }
}

TEST_CASE("lb flows: ICMP errors do not follow an expired entry and touch none", "[lb][conntrack][rules][icmp]") {
    LbHarness lb;
    ServiceSpec s;
    s.proto = IPPROTO_UDP;
    s.port = 53;
    install(lb, s);
    const jl_flow_key key = flow_key(kClient4, kVip4, 7000, 53, IPPROTO_UDP);
    const uint32_t ring = pick(s, ref_flow_hash(kClient4, kVip4, 7000, 53, IPPROTO_UDP));
    const uint32_t other = (ring + 1) % s.slots;
    // A router's port-unreachable about a reply of the service (VIP:53 -> client:7000).
    Bytes quoted = Packet().ipv4(kVip4, kClient4).udp(53, 7000).payload("r").build();
    Bytes err = Packet().eth(kLbMac, kPeerMac).ipv4("198.18.9.9", kVip4).icmp4(3, 3).payload(quoted).build();
    const uint64_t stale = mono_ns() - 31000000000ull, fresh = mono_ns() - 29000000000ull;
    for (uint64_t seen : {stale, fresh}) {
        lb.put_flow(key, jl_flow{other, 1, seen, 0, 0});
        expect_run(lb, err, XDP_TX, to_backend(err, seen == stale ? ring : other), JL_CNT_TX_ICMP_ERROR);
        CHECK(lb.flow(key)->time_ns == seen);
        CHECK(lb.flow(key)->backend_id == other);
    }
}

TEST_CASE("lb flows: a flow whose packets arrive on two CPUs keeps its backend", "[lb][conntrack][rules][cpu]") {
    cpu_set_t allowed;
    REQUIRE(sched_getaffinity(0, sizeof(allowed), &allowed) == 0);
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; c++)
        if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
    if (cpus.size() < 2) {
        WARN("one CPU only: nothing to test");
        return;
    }
    for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
        DYNAMIC_SECTION((proto == IPPROTO_TCP ? "tcp" : "udp")) {
            LbHarness lb;
            TwoRings r(lb, kVip4, proto);
            const uint16_t dport = proto == IPPROTO_TCP ? 80 : 53;
            auto frame = [&](uint16_t sport, uint8_t flags) {
                return proto == IPPROTO_TCP ? tcp_frame(kClient4, kVip4, sport, flags) : udp(kClient4, kVip4, sport);
            };
            std::vector<uint32_t> owners;
            {
                PinnedCpu on(cpus[0]);
                for (uint16_t sport = 8000; sport < 8016; sport++) {
                    uint32_t a = pick(r.s0, ref_flow_hash(kClient4, kVip4, sport, dport, proto));
                    expect_to(lb, frame(sport, kTcpSyn), a);
                    owners.push_back(a);
                }
            }
            for (uint32_t a : owners) r.keep(lb, a);
            lb.set_active(1);
            for (int i = 0; i < 2; i++) {
                PinnedCpu on(cpus[(i + 1) % 2]);  // the other CPU first, then the first again
                INFO("on CPU " << on.cpu());
                for (uint16_t sport = 8000; sport < 8016; sport++)
                    expect_to(lb, frame(sport, kTcpAck), owners[sport - 8000]);
            }
            CHECK(lb.service_stats(1).new_flows == 16);
            CHECK(lb.service_stats(1).nonsyn_miss == 0);
            if (proto != IPPROTO_TCP) continue;
            // New connections on the same tuples, placed by the new ring on the second
            // CPU: the first CPU sees the rewritten entries.
            {
                PinnedCpu on(cpus[1]);
                for (uint16_t sport = 8000; sport < 8016; sport++)
                    expect_to(lb, frame(sport, kTcpSyn), pick(r.s1, tcp_hash(kClient4, kVip4, sport)));
            }
            PinnedCpu on(cpus[0]);
            for (uint16_t sport = 8000; sport < 8016; sport++)
                expect_to(lb, frame(sport, kTcpAck), pick(r.s1, tcp_hash(kClient4, kVip4, sport)));
        }
    }
}
