// `julierctl which` against the forwarder itself: dataplane::pick_flow (the daemon's
// code, on julier/flow_pick.h) must name the backend BPF_PROG_TEST_RUN sends each of
// thousands of random flows to, in every forwarding mode and address family, with each
// ring hash (`hash`: 5tuple, source, no_source_port, destination_port), before the
// flow has an entry, after, and after a ring change where some entries' backends stop
// taking flows.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <random>

#include "dataplane/flow_pick.h"
#include "lb_fixture.h"

using namespace julier::test;
using namespace julier::test::lbfix;
using julier::dataplane::FlowPick;
using julier::dataplane::PickMaps;

namespace {

constexpr uint32_t kBackends = 12;  // ids 0..11 on side 0, 100..111 on side 1
constexpr uint32_t kRingSize = 1009;
constexpr uint32_t kServiceId = 3;

struct Config {
    const char* name;
    uint8_t mode;
    bool v6_vip;
    bool v6_backends;
};

const Config kConfigs[] = {
    {"l2 v4", JL_MODE_L2, false, false},        {"l2 v6", JL_MODE_L2, true, true},
    {"ipip", JL_MODE_IPIP, false, false},       {"ip6ip6", JL_MODE_IP6IP6, true, true},
    {"ip4in6", JL_MODE_IP4IN6, false, true},    {"gue v4", JL_MODE_GUE, false, false},
    {"gue v6 in v4", JL_MODE_GUE, true, false},
};

PickMaps maps_of(LbHarness& lb) {
    auto& m = lb.skel().maps;
    return PickMaps{bpf_map__fd(m.jl_active),   bpf_map__fd(m.jl_vips),  bpf_map__fd(m.jl_flows),
                    bpf_map__fd(m.jl_backends), bpf_map__fd(m.jl_rings), lb.sizes().max_backends,
                    lb.sizes().ring_capacity};
}

std::string backend_address(bool v6, uint32_t id) { return v6 ? backend6(id) : backend4(id); }

// A TCP (port 80) and a UDP (port 53) service on the VIP, both with a ring of random
// backends from first..first+kBackends-1 on `side`.
void install_side(LbHarness& lb, const Config& c, uint16_t hash_flags, uint32_t side, uint32_t first,
                  std::mt19937& rng) {
    const std::string vip = c.v6_vip ? kVip6 : kVip4;
    std::vector<uint32_t> ring(kRingSize);
    for (auto& id : ring) id = first + rng() % kBackends;
    for (uint32_t id = first; id < first + kBackends; id++) {
        const Mac dst = c.mode == JL_MODE_L2 ? backend_mac(id) : kNextHopMac;
        lb.put_backend(side, id, backend(kServiceId, backend_address(c.v6_backends, id), dst));
    }
    ServiceSpec spec;
    spec.vip = vip;
    spec.mode = c.mode;
    spec.service_id = kServiceId;
    spec.flags = hash_flags;
    spec.side = side;
    spec.ring_offset = side == 0 ? 0 : 2048;
    jl_vip v = vip_value(spec);
    for (uint16_t port : {80, 53}) {
        jl_vip_key key = vip_key(vip, port, port == 80 ? IPPROTO_TCP : IPPROTO_UDP, side);
        v.ring_offset = spec.ring_offset;
        lb.put_service(key, v, ring);
    }
    lb.filter_add(side, vip);
}

struct Flow {
    std::string src;
    uint16_t sport;
    uint8_t proto;
};

Flow random_flow(bool v6, std::mt19937& gen) {
    auto rng = [&gen] { return static_cast<unsigned>(gen()); };
    char src[64];
    if (v6)
        std::snprintf(src, sizeof(src), "2001:db8:%x::%x:%x", rng() % 0xffff, rng() % 0xffff, rng() % 0xffff);
    else
        std::snprintf(src, sizeof(src), "198.18.%u.%u", rng() % 256, rng() % 256);
    return {src, static_cast<uint16_t>(1024 + rng() % 64000),
            static_cast<uint8_t>(rng() % 2 ? IPPROTO_TCP : IPPROTO_UDP)};
}

// A TCP frame opens the connection (SYN) or belongs to it (ACK).
Bytes frame_of(const Flow& f, const std::string& vip, uint8_t tcp_flags = kTcpSyn) {
    Packet p;
    p.eth(kLbMac, kPeerMac);
    if (is_v6(vip))
        p.ipv6(f.src, vip);
    else
        p.ipv4(f.src, vip);
    const uint16_t dport = f.proto == IPPROTO_TCP ? 80 : 53;
    if (f.proto == IPPROTO_TCP)
        p.tcp(f.sport, dport).flags(tcp_flags);
    else
        p.udp(f.sport, dport);
    return p.build();
}

// The backend id the forwarder sent the frame to (-1: not sent on), from the
// destination MAC (l2) or the outer destination address (tunnels).
int sent_to(LbHarness& lb, const Config& c, const Bytes& in, const std::map<std::string, uint32_t>& by_address) {
    XdpResult r = lb.run(in);
    if (r.verdict != XDP_TX && r.verdict != XDP_REDIRECT) return -1;
    if (c.mode == JL_MODE_L2) return r.data.size() >= 6 ? r.data[5] : -1;
    char text[64];
    if (c.v6_backends) {
        if (r.data.size() < 54) return -1;
        std::snprintf(text, sizeof(text), "%x:%x:%x::%x", r.data[38] << 8 | r.data[39], r.data[40] << 8 | r.data[41],
                      r.data[42] << 8 | r.data[43], r.data[52] << 8 | r.data[53]);
    } else {
        if (r.data.size() < 34) return -1;
        std::snprintf(text, sizeof(text), "%u.%u.%u.%u", r.data[30], r.data[31], r.data[32], r.data[33]);
    }
    auto it = by_address.find(text);
    return it == by_address.end() ? -1 : static_cast<int>(it->second);
}

}  // namespace

TEST_CASE("lb which: pick_flow names the backend the forwarder sends each flow to", "[lb][which]") {
    constexpr int kFlows = 300;  // per configuration and hash
    const std::pair<uint16_t, const char*> hashes[] = {{0, "5tuple"},
                                                       {JL_VIP_F_SOURCE_AFFINITY, "source"},
                                                       {JL_VIP_F_HASH_NO_SOURCE_PORT, "no_source_port"},
                                                       {JL_VIP_F_HASH_DESTINATION_PORT, "destination_port"}};
    for (const Config& c : kConfigs) {
        for (const auto& [flags, hash_name] : hashes) {
            DYNAMIC_SECTION(c.name << ", hash " << hash_name) {
                LbHarness lb({16, 256, 4096, 65536});
                std::mt19937 rng(42 + c.mode * 8 + flags);
                install_side(lb, c, flags, 0, 0, rng);
                const PickMaps maps = maps_of(lb);
                const std::string vip = c.v6_vip ? kVip6 : kVip4;
                std::map<std::string, uint32_t> by_address;
                for (uint32_t id = 0; id < 200; id++) by_address[backend_address(c.v6_backends, id)] = id;

                std::vector<Flow> flows;
                for (int i = 0; i < kFlows; i++) {
                    Flow f = random_flow(c.v6_vip, rng);
                    const jl_flow_key key = flow_key(f.src, vip, f.sport, f.proto == IPPROTO_TCP ? 80 : 53, f.proto);
                    const FlowPick before = pick_flow(maps, key, 0);
                    INFO(f.src << ":" << f.sport << " proto " << int(f.proto));
                    REQUIRE(before.vip);
                    REQUIRE(before.backend);
                    const bool seen = before.entry.has_value();  // a tuple drawn twice
                    CHECK((seen || *before.backend == *before.ring_backend));
                    const int got = sent_to(lb, c, frame_of(f, vip), by_address);
                    REQUIRE(got == static_cast<int>(*before.backend));
                    const FlowPick after = pick_flow(maps, key, 0);
                    REQUIRE(after.entry);
                    CHECK(after.entry_kept);
                    CHECK(after.entry->backend_id == static_cast<uint32_t>(got));
                    CHECK(after.entry->service_id == kServiceId);
                    flows.push_back(f);
                }

                // Side 1: another ring over other ids, plus side 0's ids 0..5 (still
                // the service's; ids 0..2 keep their flows, 3..5 are down and lose
                // them); ids 6..11 are gone. Entries keep or are re-picked as the
                // forwarder decides.
                install_side(lb, c, flags, 1, 100, rng);
                for (uint32_t id = 0; id < 6; id++) {
                    const Mac dst = c.mode == JL_MODE_L2 ? backend_mac(id) : kNextHopMac;
                    jl_backend be = backend(kServiceId, backend_address(c.v6_backends, id), dst);
                    if (id >= 3) be.flags = 0;
                    lb.put_backend(1, id, be);
                }
                lb.set_active(1);
                int kept = 0, repicked = 0;
                for (const Flow& f : flows) {
                    const jl_flow_key key = flow_key(f.src, vip, f.sport, f.proto == IPPROTO_TCP ? 80 : 53, f.proto);
                    const FlowPick pick = pick_flow(maps, key, 0);
                    INFO(f.src << ":" << f.sport << " proto " << int(f.proto));
                    REQUIRE(pick.backend);
                    REQUIRE(pick.entry);
                    CHECK(pick.entry_kept == (pick.entry->backend_id < 3));
                    (pick.entry_kept ? kept : repicked)++;
                    // The connection's next packet: a SYN would take the ring's pick.
                    REQUIRE(sent_to(lb, c, frame_of(f, vip, kTcpAck), by_address) == static_cast<int>(*pick.backend));
                }
                // With destination_port every flow to one port has one backend: two in
                // all, which need not fall on both sides of the change.
                if (flags != JL_VIP_F_HASH_DESTINATION_PORT) {
                    CHECK(kept > 0);
                    CHECK(repicked > 0);
                }
            }
        }
    }
}

TEST_CASE("lb which: no service, and a service without a usable backend", "[lb][which]") {
    LbHarness lb;
    ServiceSpec s;
    s.slots = 0;  // drops
    install(lb, s);
    const PickMaps maps = maps_of(lb);
    const FlowPick none = pick_flow(maps, flow_key(kClient4, kOther4, 1000, 80, IPPROTO_TCP), 0);
    CHECK_FALSE(none.vip);
    CHECK_FALSE(none.backend);
    const FlowPick drops = pick_flow(maps, flow_key(kClient4, kVip4, 1000, 80, IPPROTO_TCP), 0);
    CHECK(drops.vip);
    CHECK_FALSE(drops.backend);
    expect_drop(
        lb,
        [] {
            Packet p;
            p.eth(kLbMac, kPeerMac).ipv4(kClient4, kVip4).tcp(1000, 80).flags(kTcpSyn);
            return p.build();
        }(),
        JL_CNT_DROP_NO_BACKEND);
}
