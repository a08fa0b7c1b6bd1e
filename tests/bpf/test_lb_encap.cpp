// Encapsulating modes (docs/forwarder.md, "Encapsulation"): IPIP, IPv6 in IPv6,
// IPv4 in IPv6 and GUE over IPv4 or IPv6, each byte for byte against a frame built
// independently, with every checksum verified (the outer UDP checksum of GUE both by
// checksum offload arithmetic and by summing bytes), outer source entropy, flow
// label, DSCP/ECN, inner TTL, VLAN tags and egress.
#include <catch2/catch.hpp>

#include "lb_fixture.h"

using namespace julier::test;
using namespace julier::test::lbfix;

namespace {

struct Inner {
    std::string client = kClient4, vip = kVip4;
    uint16_t sport = 40000, dport = 80;
    uint8_t proto = IPPROTO_TCP;
    uint8_t tos = 0;
    uint8_t ttl = 64;
    size_t payload = 100;
    std::optional<uint16_t> vlan;
};

void append_inner(Packet& p, const Inner& in, uint8_t ttl) {
    if (is_v6(in.client))
        p.ipv6(in.client, in.vip).flow_label(0x12345);
    else
        p.ipv4(in.client, in.vip).df().id(0x4242);
    p.ttl(ttl).tos(in.tos);
    if (in.proto == IPPROTO_TCP)
        p.tcp(in.sport, in.dport).flags(kTcpAck | kTcpPsh).seq(1000).ack(2000);
    else
        p.udp(in.sport, in.dport);
    p.payload_size(in.payload);
}

Bytes received(const Inner& in) {
    Packet p;
    p.eth(kLbMac, kPeerMac);
    if (in.vlan) p.vlan(*in.vlan, 5);
    append_inner(p, in, in.ttl);
    return p.build();
}

// addr with its low `bits` bits (of the last 32-bit word) replaced by the hash's.
std::string with_entropy(std::string_view addr, uint8_t bits, uint32_t hash) {
    if (bits == 0) return std::string(addr);
    if (bits > 16) bits = 16;
    uint32_t mask = (1u << bits) - 1;
    char buf[INET6_ADDRSTRLEN];
    if (is_v6(addr)) {
        Ip6Addr a = ip6(addr);
        uint32_t last = uint32_t(a[12]) << 24 | uint32_t(a[13]) << 16 | uint32_t(a[14]) << 8 | a[15];
        last = (last & ~mask) | (hash & mask);
        for (int i = 0; i < 4; i++) a[12 + i] = static_cast<uint8_t>(last >> (24 - 8 * i));
        inet_ntop(AF_INET6, a.data(), buf, sizeof(buf));
    } else {
        Ip4Addr a = ip4(addr);
        uint32_t v = uint32_t(a[0]) << 24 | uint32_t(a[1]) << 16 | uint32_t(a[2]) << 8 | a[3];
        v = (v & ~mask) | (hash & mask);
        for (int i = 0; i < 4; i++) a[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
        inet_ntop(AF_INET, a.data(), buf, sizeof(buf));
    }
    return buf;
}

// The outer headers a service puts in front, for backend id and outer-header hash.
void append_outer(Packet& p, const ServiceSpec& s, uint32_t id, uint32_t hash, uint8_t tos) {
    if (v6_backends(s)) {
        p.ipv6(with_entropy(kTunnelSrc6, s.entropy_bits, hash), backend6(id))
            .ttl(s.outer_ttl)
            .tos(tos)
            .flow_label(hash & 0xfffff);
    } else {
        p.ipv4(with_entropy(kTunnelSrc4, s.entropy_bits, hash), backend4(id)).ttl(s.outer_ttl).tos(tos).df().id(0);
    }
    if (s.mode == JL_MODE_GUE)
        p.udp(static_cast<uint16_t>(JL_GUE_SPORT_MIN + (hash & JL_GUE_SPORT_MASK)), s.gue_port).gue();
}

Bytes expected(const Inner& in, const ServiceSpec& s, uint32_t id, uint32_t hash) {
    Packet p;
    p.eth(kNextHopMac, s.src_mac == Mac{} ? kLbMac : s.src_mac);
    if (in.vlan) p.vlan(*in.vlan, 5);
    append_outer(p, s, id, hash, in.tos);
    append_inner(p, in, static_cast<uint8_t>(in.ttl - 1));
    return p.build();
}

uint32_t flow_hash(const Inner& in) { return ref_flow_hash(in.client, in.vip, in.sport, in.dport, in.proto); }

ServiceSpec tunnel(uint8_t mode, std::string vip, std::string backend_family) {
    ServiceSpec s;
    s.mode = mode;
    s.vip = std::move(vip);
    s.backend_family = std::move(backend_family);
    s.slots = 11;
    s.first_backend = 1;
    return s;
}

VerifyOptions gue_opts(const ServiceSpec& s) {
    VerifyOptions o;
    o.gue_port = s.gue_port;
    return o;
}

// Forward one flow packet through a tunnel service and compare with the independent frame.
void expect_tunnel(const ServiceSpec& s, const Inner& in) {
    LbHarness lb;
    install(lb, s);
    uint32_t hash = flow_hash(in);
    uint32_t id = pick(s, hash);
    Bytes frame = received(in);
    expect_run(lb, frame, s.ifindex ? XDP_REDIRECT : XDP_TX, expected(in, s, id, hash),
               s.ifindex ? JL_CNT_REDIRECT_FORWARD : JL_CNT_TX_FORWARD, true, gue_opts(s));
    auto entry = lb.flow(flow_key(in.client, in.vip, in.sport, in.dport, in.proto));
    REQUIRE(entry);
    CHECK(entry->backend_id == id);
    CHECK(lb.service_stats(s.service_id).packets == 1);
    CHECK(lb.service_stats(s.service_id).bytes == frame.size());
    // The TCP frames here are ACKs: a flow first seen mid-connection is a nonsyn_miss,
    // remembered but not counted as a new flow.
    CHECK(lb.service_stats(s.service_id).new_flows == (in.proto == IPPROTO_UDP ? 1u : 0u));
    CHECK(lb.service_stats(s.service_id).nonsyn_miss == (in.proto == IPPROTO_TCP ? 1u : 0u));
    CHECK(lb.backend_stats(id).packets == 1);
    CHECK(lb.backend_stats(id).new_flows == (in.proto == IPPROTO_UDP ? 1u : 0u));
}

}  // namespace

TEST_CASE("lb encap: every mode and family, with and without a VLAN tag", "[lb][encap]") {
    struct Case {
        const char* name;
        uint8_t mode;
        std::string client, vip, backend_family;
    };
    const Case cases[] = {
        {"IPIP", JL_MODE_IPIP, kClient4, kVip4, "4"},
        {"IPv6 in IPv6", JL_MODE_IP6IP6, kClient6, kVip6, "6"},
        {"IPv4 in IPv6", JL_MODE_IP4IN6, kClient4, kVip4, "6"},
        {"GUE, IPv4 in IPv4", JL_MODE_GUE, kClient4, kVip4, "4"},
        {"GUE, IPv6 in IPv4", JL_MODE_GUE, kClient6, kVip6, "4"},
        {"GUE, IPv4 in IPv6", JL_MODE_GUE, kClient4, kVip4, "6"},
        {"GUE, IPv6 in IPv6", JL_MODE_GUE, kClient6, kVip6, "6"},
    };
    for (const Case& c : cases) {
        for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
            for (bool tagged : {false, true}) {
                DYNAMIC_SECTION(c.name << (proto == IPPROTO_TCP ? ", TCP" : ", UDP") << (tagged ? ", tagged" : "")) {
                    ServiceSpec s = tunnel(c.mode, c.vip, c.backend_family);
                    s.proto = proto;
                    Inner in;
                    in.client = c.client;
                    in.vip = c.vip;
                    in.proto = proto;
                    in.tos = 0x28;
                    if (tagged) in.vlan = 300;
                    expect_tunnel(s, in);
                }
            }
        }
    }
}

TEST_CASE("lb encap: GUE checksum when payload lengths are odd or large", "[lb][encap]") {
    for (size_t payload : {0, 1, 7, 33, 999, 1400}) {
        for (const char* family : {"4", "6"}) {
            DYNAMIC_SECTION("payload " << payload << ", outer IPv" << family) {
                Inner in;
                in.payload = payload;
                expect_tunnel(tunnel(JL_MODE_GUE, kVip4, family), in);
                Inner in6;
                in6.client = kClient6;
                in6.vip = kVip6;
                in6.proto = IPPROTO_UDP;
                in6.payload = payload;
                ServiceSpec s = tunnel(JL_MODE_GUE, kVip6, family);
                s.proto = IPPROTO_UDP;
                expect_tunnel(s, in6);
            }
        }
    }
}

TEST_CASE("lb encap: GUE checksum over inner packets whose own checksum does not cover them", "[lb][encap]") {
    // Inner UDP over IPv4 without a checksum (0): the outer sum is taken byte by byte.
    for (const char* family : {"4", "6"}) {
        DYNAMIC_SECTION("UDP checksum 0, outer IPv" << family) {
            ServiceSpec s = tunnel(JL_MODE_GUE, kVip4, family);
            s.proto = IPPROTO_UDP;
            LbHarness lb;
            install(lb, s);
            auto build = [&](bool out, uint32_t id, uint32_t hash) {
                Packet p;
                p.eth(out ? kNextHopMac : kLbMac, out ? kLbMac : kPeerMac);
                if (out) append_outer(p, s, id, hash, 0);
                p.ipv4(kClient4, kVip4).ttl(out ? 63 : 64).udp(5353, 80).l4_checksum(0).payload_size(77);
                return p.build();
            };
            uint32_t hash = ref_flow_hash(kClient4, kVip4, 5353, 80, IPPROTO_UDP);
            uint32_t id = pick(s, hash);
            expect_run(lb, build(false, 0, 0), XDP_TX, build(true, id, hash), JL_CNT_TX_FORWARD, true, gue_opts(s));
        }
    }
    // IPv6 with an extension header: summed byte by byte too.
    {
        ServiceSpec s = tunnel(JL_MODE_GUE, kVip6, "4");
        LbHarness lb;
        install(lb, s);
        auto build = [&](bool out, uint32_t id, uint32_t hash) {
            Packet p;
            p.eth(out ? kNextHopMac : kLbMac, out ? kLbMac : kPeerMac);
            if (out) append_outer(p, s, id, hash, 0);
            p.ipv6(kClient6, kVip6).ttl(out ? 63 : 64).dest_opts().tcp(1234, 80).payload_size(51);
            return p.build();
        };
        uint32_t hash = ref_flow_hash(kClient6, kVip6, 1234, 80, IPPROTO_TCP);
        expect_run(lb, build(false, 0, 0), XDP_TX, build(true, pick(s, hash), hash), JL_CNT_TX_FORWARD, true,
                   gue_opts(s));
    }
}

TEST_CASE("lb encap: outer source entropy, TTL and GUE port follow the service", "[lb][encap]") {
    for (uint8_t bits : {1, 8, 16, 24}) {
        for (const char* family : {"4", "6"}) {
            DYNAMIC_SECTION(int(bits) << " entropy bits, outer IPv" << family) {
                ServiceSpec s = tunnel(JL_MODE_GUE, kVip4, family);
                s.entropy_bits = bits;  // more than 16 is taken as 16
                s.outer_ttl = 17;
                s.gue_port = 7777;
                expect_tunnel(s, Inner{});
                ServiceSpec ipip = tunnel(family == std::string("4") ? JL_MODE_IPIP : JL_MODE_IP4IN6, kVip4, family);
                ipip.entropy_bits = bits;
                ipip.outer_ttl = 255;
                expect_tunnel(ipip, Inner{});
            }
        }
    }
}

TEST_CASE("lb encap: DSCP and ECN are copied to the outer header", "[lb][encap]") {
    for (uint8_t tos : {0x00, 0x01, 0x02, 0x03, 0xb8, 0xb9, 0xfe, 0xff}) {
        DYNAMIC_SECTION("TOS / traffic class " << int(tos)) {
            Inner in;
            in.tos = tos;
            expect_tunnel(tunnel(JL_MODE_IPIP, kVip4, "4"), in);
            Inner in6;
            in6.client = kClient6;
            in6.vip = kVip6;
            in6.tos = tos;
            expect_tunnel(tunnel(JL_MODE_IP6IP6, kVip6, "6"), in6);
            expect_tunnel(tunnel(JL_MODE_GUE, kVip6, "4"), in6);
        }
    }
}

TEST_CASE("lb encap: the inner TTL drops by one; at 1 or 0 the packet is dropped", "[lb][encap]") {
    for (const char* client : {kClient4, kClient6}) {
        DYNAMIC_SECTION(client) {
            bool v6 = is_v6(client);
            ServiceSpec s = tunnel(v6 ? JL_MODE_IP6IP6 : JL_MODE_IPIP, v6 ? kVip6 : kVip4, v6 ? "6" : "4");
            Inner in;
            in.client = client;
            in.vip = s.vip;
            in.ttl = 2;
            expect_tunnel(s, in);  // leaves with 1
            in.ttl = 255;
            expect_tunnel(s, in);

            LbHarness lb;
            install(lb, s);
            for (uint8_t ttl : {1, 0}) {
                in.ttl = ttl;
                expect_drop(lb, received(in), JL_CNT_DROP_TTL_EXPIRED);
            }
            // Nothing was sent, so nothing was remembered or counted for the service.
            CHECK(lb.flow_keys().empty());
            CHECK(lb.service_stats(s.service_id).packets == 0);
        }
    }
}

TEST_CASE("lb encap: IPv4 options and IPv6 extension headers travel inside the tunnel", "[lb][encap]") {
    const uint8_t router_alert[] = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};
    ServiceSpec s = tunnel(JL_MODE_IPIP, kVip4, "4");
    LbHarness lb;
    install(lb, s);
    uint32_t hash = ref_flow_hash(kClient4, kVip4, 4444, 80, IPPROTO_TCP);
    auto build = [&](bool out) {
        Packet p;
        p.eth(out ? kNextHopMac : kLbMac, out ? kLbMac : kPeerMac);
        if (out) append_outer(p, s, pick(s, hash), hash, 0x10);
        p.ipv4(kClient4, kVip4).tos(0x10).ttl(out ? 9 : 10).ip_options(router_alert).tcp(4444, 80).payload("opt");
        return p.build();
    };
    expect_run(lb, build(false), XDP_TX, build(true), JL_CNT_TX_FORWARD);

    ServiceSpec s6 = tunnel(JL_MODE_IP6IP6, kVip6, "6");
    LbHarness lb6;
    install(lb6, s6);
    uint32_t hash6 = ref_flow_hash(kClient6, kVip6, 4444, 80, IPPROTO_TCP);
    auto build6 = [&](bool out) {
        Packet p;
        p.eth(out ? kNextHopMac : kLbMac, out ? kLbMac : kPeerMac);
        if (out) append_outer(p, s6, pick(s6, hash6), hash6, 0);
        p.ipv6(kClient6, kVip6).ttl(out ? 9 : 10).hop_by_hop().routing(0, 0, {}).tcp(4444, 80).payload("ext");
        return p.build();
    };
    expect_run(lb6, build6(false), XDP_TX, build6(true), JL_CNT_TX_FORWARD);
}

TEST_CASE("lb encap: a backend behind another device is reached by redirect, with its source MAC", "[lb][encap]") {
    ServiceSpec s = tunnel(JL_MODE_GUE, kVip6, "6");
    s.ifindex = 3;
    s.src_mac = kEgressMac;
    Inner in;
    in.client = kClient6;
    in.vip = kVip6;
    in.vlan = 42;
    expect_tunnel(s, in);
}

TEST_CASE("lb encap: a mode that cannot carry the packet to the backend's family is a bad backend", "[lb][encap]") {
    struct Case {
        const char* name;
        uint8_t mode;
        std::string vip, backend_family;
    };
    const Case cases[] = {
        {"IPIP to an IPv6 backend", JL_MODE_IPIP, kVip4, "6"},
        {"IPIP with an IPv6 client", JL_MODE_IPIP, kVip6, "4"},
        {"IPv6 in IPv6 with an IPv4 client", JL_MODE_IP6IP6, kVip4, "6"},
        {"IPv6 in IPv6 to an IPv4 backend", JL_MODE_IP6IP6, kVip6, "4"},
        {"IPv4 in IPv6 to an IPv4 backend", JL_MODE_IP4IN6, kVip4, "4"},
        {"IPv4 in IPv6 with an IPv6 client", JL_MODE_IP4IN6, kVip6, "6"},
        {"an unknown mode", JL_MODE_COUNT, kVip4, "4"},
    };
    for (const Case& c : cases) {
        SECTION(c.name) {
            LbHarness lb;
            ServiceSpec s = tunnel(c.mode, c.vip, c.backend_family);
            install(lb, s);
            Inner in;
            in.client = is_v6(c.vip) ? kClient6 : kClient4;
            in.vip = c.vip;
            expect_drop(lb, received(in), JL_CNT_DROP_BAD_BACKEND);
            CHECK(lb.flow_keys().empty());
        }
    }
}

TEST_CASE("lb encap: headers are pushed in front of XDP metadata-reduced headroom", "[lb][encap]") {
    // BPF_PROG_TEST_RUN always gives 256 bytes of headroom, so bpf_xdp_adjust_head
    // cannot be made to fail here (DROP_HEADROOM is for drivers with less). What can
    // be checked: 32 bytes of metadata in front of the frame (the most the kernel
    // allows) take headroom, stay in front of the packet, and the push still works.
    ServiceSpec s = tunnel(JL_MODE_GUE, kVip6, "6");
    LbHarness lb;
    install(lb, s);
    Inner in;
    in.client = kClient6;
    in.vip = kVip6;
    Bytes frame = received(in);
    Bytes meta(32);
    for (size_t i = 0; i < meta.size(); i++) meta[i] = static_cast<uint8_t>(0xa0 + i);
    Bytes data = meta;
    data.insert(data.end(), frame.begin(), frame.end());

    xdp_md ctx{};
    ctx.data = static_cast<uint32_t>(meta.size());
    ctx.data_end = static_cast<uint32_t>(data.size());
    Bytes out(data.size() + 256);
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = data.data();
    opts.data_size_in = static_cast<uint32_t>(data.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<uint32_t>(out.size());
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
    REQUIRE(bpf_prog_test_run_opts(lb.prog_fd(), &opts) == 0);
    out.resize(opts.data_size_out);
    CHECK(opts.retval == XDP_TX);

    uint32_t hash = flow_hash(in);
    Bytes want = meta;
    Bytes enc = expected(in, s, pick(s, hash), hash);
    want.insert(want.end(), enc.begin(), enc.end());
    CHECK(hex_diff(want, out) == "");
    CHECK(lb.counter(JL_CNT_TX_FORWARD).packets == 1);
    CHECK(lb.counter(JL_CNT_DROP_HEADROOM).packets == 0);
}

TEST_CASE("lb encap: Ethernet padding of a short frame stays out of the tunnel", "[lb][encap]") {
    ServiceSpec s = tunnel(JL_MODE_IPIP, kVip4, "4");
    LbHarness lb;
    install(lb, s);
    Inner in;
    in.payload = 0;  // 54-byte frame
    Bytes frame = received(in);
    REQUIRE(frame.size() == 54);
    frame.resize(60, 0);  // padded to the Ethernet minimum
    uint32_t hash = flow_hash(in);
    expect_run(lb, frame, XDP_TX, expected(in, s, pick(s, hash), hash), JL_CNT_TX_FORWARD);
}
