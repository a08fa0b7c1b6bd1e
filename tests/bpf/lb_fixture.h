// Shared pieces of the forwarder's packet fixtures (tests/bpf/test_lb_*.cpp): the
// test topology's addresses, a catalogue builder whose rings reveal the slot a
// packet's hash chose, an independent reference of the flow hash, and a run that
// checks verdict, bytes, checksums and counters together.
#pragma once

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flow_hash_ref.h"
#include "harness.h"
#include "packet.h"

namespace julier::test::lbfix {

// ---- topology --------------------------------------------------------------------------

inline const Mac kPeerMac = mac("02:00:00:00:00:0a");     // the client's side: frame source
inline const Mac kLbMac = mac("02:00:00:00:00:01");       // the balancer's receiving device
inline const Mac kNextHopMac = mac("02:00:00:00:00:fe");  // router towards tunnel backends
inline const Mac kEgressMac = mac("02:00:00:00:00:e1");   // ours on another device

inline constexpr const char* kClient4 = "198.18.0.10";
inline constexpr const char* kClient4b = "198.18.0.77";
inline constexpr const char* kVip4 = "198.19.0.1";
inline constexpr const char* kOther4 = "198.19.0.200";  // not a VIP address
inline constexpr const char* kClient6 = "2001:db8::10";
inline constexpr const char* kClient6b = "2001:db8::77";
inline constexpr const char* kVip6 = "2001:db8:ff::1";
inline constexpr const char* kOther6 = "2001:db8:ff::200";
inline constexpr const char* kTunnelSrc4 = "198.18.2.1";  // outer source of encapsulation
inline constexpr const char* kTunnelSrc6 = "2001:db8:2::1";

inline Mac backend_mac(uint32_t id) { return {0x02, 0x00, 0x00, 0x00, 0x01, static_cast<uint8_t>(id)}; }
inline std::string backend4(uint32_t id) { return "198.18.1." + std::to_string(id + 1); }
inline std::string backend6(uint32_t id) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "2001:db8:1::%x", id + 1);
    return buf;
}

// A TCP frame from the client side: client:sport -> vip:dport with these flags.
inline Bytes tcp_frame(std::string_view client, std::string_view vip, uint16_t sport, uint8_t flags,
                       uint16_t dport = 80) {
    Packet p;
    p.eth(kLbMac, kPeerMac);
    if (is_v6(client))
        p.ipv6(client, vip);
    else
        p.ipv4(client, vip);
    p.tcp(sport, dport).flags(flags);
    return p.build();
}

// ---- catalogue -------------------------------------------------------------------------

// A service whose ring slot i holds backend id first_backend + i: the backend a packet
// reaches names the slot its hash chose.
struct ServiceSpec {
    std::string vip = kVip4;
    uint16_t port = 80;
    uint8_t proto = IPPROTO_TCP;
    uint32_t service_id = 1;
    uint8_t mode = JL_MODE_L2;
    uint32_t slots = 7;          // ring size (prime); 0 = no usable backend
    uint32_t first_backend = 0;  // backend ids first_backend .. first_backend + slots - 1
    uint32_t ring_offset = 0;
    uint32_t side = 0;
    std::string backend_family = "";  // "4" or "6" for tunnel backends; default: the VIP's
    uint16_t flags = 0;
    uint16_t mtu = JL_DEFAULT_MTU;
    uint8_t outer_ttl = JL_DEFAULT_OUTER_TTL;
    uint16_t gue_port = JL_DEFAULT_GUE_PORT;
    uint8_t entropy_bits = 0;
    bool takes_fragments = true;  // also the address's jl_frag_vips entry
    Mac src_mac{};                // backend entries' src_mac (zero: keep received dst)
    uint32_t ifindex = 0;
    bool filter = true;  // let the address through the side's jl_vip_filter
    // UDP services: connection table entries idle longer expire (0 = never); TCP ignores it.
    uint32_t udp_idle_timeout_ms = JL_DEFAULT_UDP_IDLE_TIMEOUT_MS;
};

inline bool v6_backends(const ServiceSpec& s) {
    return s.backend_family.empty() ? is_v6(s.vip) : s.backend_family == "6";
}
inline std::string backend_addr(const ServiceSpec& s, uint32_t id) {
    return v6_backends(s) ? backend6(id) : backend4(id);
}
// Where the service's frames go: the backend itself (l2) or the next hop (tunnels).
inline Mac frame_dst(const ServiceSpec& s, uint32_t id) { return s.mode == JL_MODE_L2 ? backend_mac(id) : kNextHopMac; }

inline jl_vip vip_value(const ServiceSpec& s) {
    jl_vip v{};
    v.service_id = s.service_id;
    v.ring_offset = s.ring_offset;
    v.ring_size = s.slots;
    v.flags = s.flags;
    v.mode = s.mode;
    v.outer_ttl = s.outer_ttl;
    v.gue_port = htons(s.gue_port);
    v.mtu = s.mtu;
    put_addr(v.src6, kTunnelSrc6);
    __u32 src4[4];
    put_addr(src4, kTunnelSrc4);
    v.src4 = src4[0];
    v.src_entropy_bits = s.entropy_bits;
    v.udp_idle_timeout_ms = s.proto == IPPROTO_UDP ? s.udp_idle_timeout_ms : 0;  // as the plan writes it
    return v;
}

inline jl_backend backend_value(const ServiceSpec& s, uint32_t id) {
    Mac dst = frame_dst(s, id);
    jl_backend b = backend(s.service_id, backend_addr(s, id), dst, s.src_mac);
    b.ifindex = s.ifindex;
    return b;
}

// Write the service, its ring, its backends, (if asked) its fragment entry, and its
// address into the side's VIP filter (unless asked not to).
inline void install(LbHarness& lb, const ServiceSpec& s) {
    std::vector<uint32_t> ring;
    for (uint32_t i = 0; i < s.slots; i++) {
        ring.push_back(s.first_backend + i);
        lb.put_backend(s.side, s.first_backend + i, backend_value(s, s.first_backend + i));
    }
    jl_vip v = vip_value(s);
    jl_vip_key key = vip_key(s.vip, s.port, s.proto, s.side);
    lb.put_ring(s.side, s.ring_offset, ring);
    lb.put_vip(key, v);
    if (s.takes_fragments) lb.put_frag_vip(vip_key(s.vip, 0, s.proto, s.side), v);
    if (s.filter) lb.filter_add(s.side, s.vip);
}

// The backend id the ring gives a hash.
inline uint32_t pick(const ServiceSpec& s, uint32_t hash) { return s.first_backend + hash % s.slots; }

// ---- running ---------------------------------------------------------------------------

// One run: verdict and bytes as expected, every checksum of the output right (unless
// the output is a malformed frame passed on untouched), and exactly one jl_counters
// entry moved, by one packet of the input's length.
inline XdpResult expect_run(LbHarness& lb, const Bytes& in, int verdict, const Bytes& expected, jl_counter counter,
                            bool verify_sums = true, const VerifyOptions& opt = {}) {
    auto before = lb.counters();
    XdpResult r = lb.run(in);
    auto after = lb.counters();
    INFO("expected " << verdict_name(verdict) << " counted as " << counter_name(counter));
    CHECK(verdict_name(r.verdict) == std::string(verdict_name(verdict)));
    CHECK(hex_diff(expected, r.data) == "");
    if (verify_sums) CHECK(verify_checksums(r.data, opt) == "");
    for (uint32_t c = 0; c < JL_CNT_COUNT; c++) {
        INFO("counter " << counter_name(static_cast<jl_counter>(c)));
        uint64_t packets = after[c].packets - before[c].packets;
        uint64_t bytes = after[c].bytes - before[c].bytes;
        CHECK(packets == (c == counter ? 1u : 0u));
        CHECK(bytes == (c == counter ? in.size() : 0u));
    }
    return r;
}

// A frame the program must hand to the kernel untouched.
inline void expect_pass(LbHarness& lb, const Bytes& in, jl_counter counter) {
    expect_run(lb, in, XDP_PASS, in, counter, false);
}

// A frame the program must drop; the bytes it leaves do not matter.
inline void expect_drop(LbHarness& lb, const Bytes& in, jl_counter counter) {
    auto before = lb.counters();
    XdpResult r = lb.run(in);
    auto after = lb.counters();
    INFO("expected XDP_DROP counted as " << counter_name(counter));
    CHECK(verdict_name(r.verdict) == std::string("XDP_DROP"));
    for (uint32_t c = 0; c < JL_CNT_COUNT; c++) {
        INFO("counter " << counter_name(static_cast<jl_counter>(c)));
        CHECK(after[c].packets - before[c].packets == (c == counter ? 1u : 0u));
        CHECK(after[c].bytes - before[c].bytes == (c == counter ? in.size() : 0u));
    }
}

// Run a frame and return which backend (by its MAC's last byte) an l2 service sent it to.
inline int l2_backend_of(LbHarness& lb, const Bytes& in) {
    XdpResult r = lb.run(in);
    if (r.verdict != XDP_TX && r.verdict != XDP_REDIRECT) return -1;
    if (r.data.size() < 6 || r.data[0] != 0x02 || r.data[4] != 0x01) return -1;
    return r.data[5];
}

}  // namespace julier::test::lbfix
