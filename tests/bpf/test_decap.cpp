// julier_decap through BPF_PROG_TEST_RUN: every tunnel kind from an allowed source to
// a local address comes out as the exact frame the builder makes for the bare inner
// packet; from any other source it is dropped; without a configuration nothing is
// stripped; everything else passes untouched; each result bumps exactly its own
// counter.
#include <catch2/catch.hpp>

#include <functional>
#include <optional>

#include "harness.h"
#include "packet.h"

using namespace julier::test;

namespace {

const Mac kBackendMac = mac("02:00:00:00:00:20");
const Mac kLbMac = mac("02:00:00:00:00:02");

constexpr const char* kLb4 = "198.18.0.2";
constexpr const char* kBe4 = "198.18.0.20";
constexpr const char* kLb6 = "2001:db8::2";
constexpr const char* kBe6 = "2001:db8::20";
constexpr uint16_t kGue = JL_DEFAULT_GUE_PORT;

enum class Inner { v4, v6 };

// The decapsulator as julier-decap configures it on the backend: the balancer's
// encapsulation sources allowed, the backend's addresses local.
class Configured : public DecapHarness {
public:
    Configured() {
        add_source(kLb4);
        add_source(kLb6);
        add_local(kBe4);
        add_local(kBe6);
    }
};

// The client's packet to the VIP, appended to whatever outer layers p has.
Packet& inner(Packet& p, Inner family, uint8_t ecn = kNotEct) {
    if (family == Inner::v4)
        p.ipv4("198.18.0.10", "198.19.0.1").id(0x77).df();
    else
        p.ipv6("2001:db8::10", "2001:db8:1::1").flow_label(0x5a5a5);
    p.tos(static_cast<uint8_t>(0x28 << 2 | ecn));  // DSCP AF11-ish, so ECN edits must keep it
    return p.tcp(40000, 80).flags(kTcpAck | kTcpPsh).seq(1000).ack(2000).payload("GET / HTTP/1.1\r\n");
}

Packet eth(std::optional<uint16_t> vlan = std::nullopt) {
    Packet p;
    p.eth(kBackendMac, kLbMac);
    if (vlan) p.vlan(*vlan);
    return p;
}

// The frame the kernel should see after decapsulation.
Bytes bare(Inner family, std::optional<uint16_t> vlan = std::nullopt, uint8_t ecn = kNotEct) {
    Packet p = eth(vlan);
    return inner(p, family, ecn).build();
}

// Exactly one counter moved, by one packet of `bytes` bytes.
void check_only(const DecapHarness& h, jl_decap_counter which, uint64_t bytes) {
    auto all = h.counters();
    for (uint32_t c = 0; c < JL_DECAP_CNT_COUNT; c++) {
        INFO("counter " << decap_counter_name(static_cast<jl_decap_counter>(c)));
        CHECK(all[c].packets == (c == which ? 1u : 0u));
        CHECK(all[c].bytes == (c == which ? bytes : 0u));
    }
}

void expect_decap(const Bytes& in, const Bytes& expected, jl_decap_counter which, DecapHarness* shared = nullptr) {
    std::optional<Configured> own;
    DecapHarness& h = shared ? *shared : own.emplace();
    REQUIRE(verify_checksums(in) == "");
    XdpResult r = h.run(in);
    CHECK(verdict_name(r.verdict) == std::string("XDP_PASS"));
    CHECK(hex_diff(expected, r.data) == "");
    CHECK(verify_checksums(r.data) == "");
    if (!shared) check_only(h, which, in.size());
}

void expect_untouched(const Bytes& in, jl_decap_counter which, DecapHarness* shared = nullptr) {
    std::optional<Configured> own;
    DecapHarness& h = shared ? *shared : own.emplace();
    XdpResult r = h.run(in);
    CHECK(verdict_name(r.verdict) == std::string("XDP_PASS"));
    CHECK(hex_diff(in, r.data) == "");
    if (!shared) check_only(h, which, in.size());
}

}  // namespace

TEST_CASE("decap: IPIP", "[decap]") {
    Packet p = eth();
    p.ipv4(kLb4, kBe4).id(0);
    expect_decap(inner(p, Inner::v4).build(), bare(Inner::v4), JL_DECAP_CNT_DECAP_IPIP);
}

TEST_CASE("decap: IPv6 in IPv6", "[decap]") {
    Packet p = eth();
    p.ipv6(kLb6, kBe6).flow_label(0x1234);
    expect_decap(inner(p, Inner::v6).build(), bare(Inner::v6), JL_DECAP_CNT_DECAP_IP6IP6);
}

TEST_CASE("decap: IPv4 in IPv6", "[decap]") {
    Packet p = eth();
    p.ipv6(kLb6, kBe6);
    expect_decap(inner(p, Inner::v4).build(), bare(Inner::v4), JL_DECAP_CNT_DECAP_IP4IN6);
}

TEST_CASE("decap: IPv6 outer with a destination-options header before the tunnel", "[decap]") {
    Packet p = eth();
    p.ipv6(kLb6, kBe6).dest_opts();
    expect_decap(inner(p, Inner::v6).build(), bare(Inner::v6), JL_DECAP_CNT_DECAP_IP6IP6);
}

TEST_CASE("decap: GUE variant 0, every outer/inner family pair", "[decap]") {
    for (Inner outer : {Inner::v4, Inner::v6}) {
        for (Inner in : {Inner::v4, Inner::v6}) {
            INFO("outer " << (outer == Inner::v4 ? "IPv4" : "IPv6") << ", inner "
                          << (in == Inner::v4 ? "IPv4" : "IPv6"));
            Packet p = eth();
            if (outer == Inner::v4)
                p.ipv4(kLb4, kBe4);
            else
                p.ipv6(kLb6, kBe6);
            p.udp(49152 + 77, kGue).gue();
            expect_decap(inner(p, in).build(), bare(in), JL_DECAP_CNT_DECAP_GUE);
        }
    }
}

TEST_CASE("decap: GUE private data (hlen without flags) is skipped, as Linux's fou does", "[decap]") {
    for (uint8_t words : {1, 5, 31}) {
        INFO("hlen " << int(words));
        Packet p = eth();
        p.ipv4(kLb4, kBe4).udp(49152 + 77, kGue).gue().gue_hlen(words);
        expect_decap(inner(p, Inner::v6).build(), bare(Inner::v6), JL_DECAP_CNT_DECAP_GUE);
    }
}

TEST_CASE("decap: GUE variant 1 (IP right after UDP)", "[decap]") {
    for (Inner outer : {Inner::v4, Inner::v6}) {
        for (Inner in : {Inner::v4, Inner::v6}) {
            INFO("outer " << (outer == Inner::v4 ? "IPv4" : "IPv6") << ", inner "
                          << (in == Inner::v4 ? "IPv4" : "IPv6"));
            Packet p = eth();
            if (outer == Inner::v4)
                p.ipv4(kLb4, kBe4).udp(50000, kGue).l4_checksum(0);  // IPv4 tunnels may omit it
            else
                p.ipv6(kLb6, kBe6).udp(50000, kGue);
            expect_decap(inner(p, in).build(), bare(in), JL_DECAP_CNT_DECAP_GUE_DIRECT);
        }
    }
}

TEST_CASE("decap: the 802.1Q tag stays and carries the inner ethertype", "[decap]") {
    Packet ipip = eth(100);
    ipip.ipv4(kLb4, kBe4);
    expect_decap(inner(ipip, Inner::v4).build(), bare(Inner::v4, 100), JL_DECAP_CNT_DECAP_IPIP);

    Packet gue = eth(4094);
    gue.ipv6(kLb6, kBe6).udp(50000, kGue).gue();
    expect_decap(inner(gue, Inner::v4).build(), bare(Inner::v4, 4094), JL_DECAP_CNT_DECAP_GUE);

    Packet v4in6 = eth(1);
    v4in6.ipv6(kLb6, kBe6);
    expect_decap(inner(v4in6, Inner::v4).build(), bare(Inner::v4, 1), JL_DECAP_CNT_DECAP_IP4IN6);
}

TEST_CASE("decap: GUE port is configurable; other ports pass untouched", "[decap]") {
    auto gue_to = [](uint16_t port) {
        Packet p = eth();
        p.ipv4(kLb4, kBe4).udp(50000, port).gue();
        return inner(p, Inner::v4).build();
    };
    expect_untouched(gue_to(kGue + 1), JL_DECAP_CNT_PASS_NOT_TUNNEL);

    Configured h;
    h.set_gue_port(7777);
    expect_untouched(gue_to(kGue), JL_DECAP_CNT_PASS_NOT_TUNNEL, &h);
    expect_decap(gue_to(7777), bare(Inner::v4), JL_DECAP_CNT_DECAP_GUE, &h);
    CHECK(h.counter(JL_DECAP_CNT_PASS_NOT_TUNNEL).packets == 1);
    CHECK(h.counter(JL_DECAP_CNT_DECAP_GUE).packets == 1);
}

TEST_CASE("decap: tunnels to other destinations pass untouched", "[decap]") {
    Configured h;
    auto ipip_to = [](const char* dst) {
        Packet p = eth();
        p.ipv4(kLb4, dst);
        return inner(p, Inner::v4).build();
    };
    auto ip6_to = [](const char* dst) {
        Packet p = eth();
        p.ipv6(kLb6, dst);
        return inner(p, Inner::v6).build();
    };
    expect_untouched(ipip_to("198.18.0.21"), JL_DECAP_CNT_PASS_NOT_LOCAL, &h);
    expect_untouched(ip6_to("2001:db8::21"), JL_DECAP_CNT_PASS_NOT_LOCAL, &h);
    // An IPv4 address that equals the first word of a local IPv6 one is not local.
    expect_untouched(ipip_to("32.1.13.184"), JL_DECAP_CNT_PASS_NOT_LOCAL, &h);
    expect_decap(ipip_to(kBe4), bare(Inner::v4), JL_DECAP_CNT_DECAP_IPIP, &h);
    expect_decap(ip6_to(kBe6), bare(Inner::v6), JL_DECAP_CNT_DECAP_IP6IP6, &h);
    CHECK(h.counter(JL_DECAP_CNT_PASS_NOT_LOCAL).packets == 3);
    CHECK(h.counter(JL_DECAP_CNT_DECAP_IPIP).packets == 1);
    CHECK(h.counter(JL_DECAP_CNT_DECAP_IP6IP6).packets == 1);
}

namespace {

// One tunnel packet of every kind the forwarder sends, from src4/src6 to the backend.
std::vector<std::pair<const char*, Bytes>> every_tunnel(const char* src4, const char* src6) {
    std::vector<std::pair<const char*, Bytes>> frames;
    auto add = [&](const char* name, Packet& p, Inner in) { frames.emplace_back(name, inner(p, in).build()); };
    Packet ipip = eth();
    ipip.ipv4(src4, kBe4);
    add("IPIP", ipip, Inner::v4);
    Packet ip6ip6 = eth();
    ip6ip6.ipv6(src6, kBe6);
    add("IPv6 in IPv6", ip6ip6, Inner::v6);
    Packet ip4in6 = eth();
    ip4in6.ipv6(src6, kBe6);
    add("IPv4 in IPv6", ip4in6, Inner::v4);
    Packet gue4 = eth();
    gue4.ipv4(src4, kBe4).udp(49152 + 5, kGue).gue();
    add("GUE over IPv4", gue4, Inner::v6);
    Packet gue6 = eth();
    gue6.ipv6(src6, kBe6).udp(49152 + 5, kGue).gue();
    add("GUE over IPv6", gue6, Inner::v4);
    Packet direct = eth(7);
    direct.ipv4(src4, kBe4).udp(50000, kGue);
    add("GUE variant 1", direct, Inner::v4);
    return frames;
}

}  // namespace

TEST_CASE("decap: a tunnel packet from a source that is not allowed is dropped and counted", "[decap]") {
    // Anyone can send IPIP or GUE to a backend: stripped, its inner packet would carry
    // whatever inner source the sender chose past the backend's filters.
    for (const auto& [name, frame] : every_tunnel("198.18.0.99", "2001:db8::99")) {
        INFO(name);
        Configured h;
        XdpResult r = h.run(frame);
        CHECK(verdict_name(r.verdict) == std::string("XDP_DROP"));
        check_only(h, JL_DECAP_CNT_DROP_SOURCE, frame.size());
    }
    // The same packets from the balancer are stripped.
    Configured h;
    for (const auto& [name, frame] : every_tunnel(kLb4, kLb6)) {
        INFO(name);
        CHECK(verdict_name(h.run(frame).verdict) == std::string("XDP_PASS"));
    }
    CHECK(h.counter(JL_DECAP_CNT_DROP_SOURCE).packets == 0);
    CHECK(h.counter(JL_DECAP_CNT_PASS_MALFORMED).packets == 0);
    CHECK(h.counter(JL_DECAP_CNT_PASS_UNCONFIGURED).packets == 0);
}

TEST_CASE("decap: allowed sources are prefixes (encap_source.entropy_bits)", "[decap]") {
    // entropy_bits 4 on 198.18.0.2 and 2001:db8::2: the outer source varies in its low 4 bits.
    DecapHarness h;
    h.add_source("198.18.0.0/28");
    h.add_source("2001:db8::/124");
    h.add_source("2001:db8:ff::/48");
    h.add_local(kBe4);
    h.add_local(kBe6);
    auto ipip_from = [](const char* src) {
        Packet p = eth();
        p.ipv4(src, kBe4);
        return inner(p, Inner::v4).build();
    };
    auto ip6_from = [](const char* src) {
        Packet p = eth();
        p.ipv6(src, kBe6).udp(50000, kGue).gue();
        return inner(p, Inner::v6).build();
    };
    struct Case {
        Bytes frame;
        bool allowed;
        const char* what;
    };
    const Case cases[] = {
        {ipip_from("198.18.0.0"), true, "first address of the /28"},
        {ipip_from("198.18.0.2"), true, "the configured address"},
        {ipip_from("198.18.0.15"), true, "last address of the /28"},
        {ipip_from("198.18.0.16"), false, "first address after the /28"},
        {ipip_from("198.18.1.2"), false, "another /24"},
        // The first word of 2001:db8:: as an IPv4 address: the family is part of the prefix.
        {ipip_from("32.1.13.184"), false, "IPv4 address equal to an IPv6 prefix's first word"},
        {ip6_from("2001:db8::"), true, "first address of the /124"},
        {ip6_from("2001:db8::f"), true, "last address of the /124"},
        {ip6_from("2001:db8::10"), false, "first address after the /124"},
        {ip6_from("2001:db8:ff:1234::77"), true, "inside the /48"},
        {ip6_from("2001:db8:fe::2"), false, "beside the /48"},
        {ip6_from("::ffff:198.18.0.2"), false, "IPv4-mapped form of an allowed IPv4 source"},
    };
    uint64_t allowed = 0, refused = 0;
    for (const Case& c : cases) {
        INFO(c.what);
        XdpResult r = h.run(c.frame);
        CHECK(verdict_name(r.verdict) == std::string(c.allowed ? "XDP_PASS" : "XDP_DROP"));
        (c.allowed ? allowed : refused)++;
    }
    auto all = h.counters();
    CHECK(all[JL_DECAP_CNT_DROP_SOURCE].packets == refused);
    CHECK(all[JL_DECAP_CNT_DECAP_IPIP].packets + all[JL_DECAP_CNT_DECAP_GUE].packets == allowed);
}

TEST_CASE("decap: an empty configuration decapsulates nothing", "[decap]") {
    // What `ip link set dev eth0 xdpdrv obj julier_decap.bpf.o` leaves: every map empty.
    SECTION("nothing configured") {
        for (const char* src : {kLb4, "198.18.0.99"}) {
            for (const auto& [name, frame] : every_tunnel(src, src == kLb4 ? kLb6 : "2001:db8::99")) {
                INFO(name << " from " << src);
                DecapHarness h;
                expect_untouched(frame, JL_DECAP_CNT_PASS_UNCONFIGURED, &h);
                check_only(h, JL_DECAP_CNT_PASS_UNCONFIGURED, frame.size());
            }
        }
    }
    SECTION("sources without local addresses") {
        DecapHarness h;
        h.add_source("198.18.0.0/15");
        h.add_source("2001:db8::/32");
        for (const auto& [name, frame] : every_tunnel(kLb4, kLb6)) {
            INFO(name);
            expect_untouched(frame, JL_DECAP_CNT_PASS_UNCONFIGURED, &h);
        }
        CHECK(h.counter(JL_DECAP_CNT_PASS_UNCONFIGURED).packets == 6);
    }
    SECTION("local addresses without sources") {
        DecapHarness h;
        h.add_local(kBe4);
        h.add_local(kBe6);
        for (const auto& [name, frame] : every_tunnel(kLb4, kLb6)) {
            INFO(name);
            expect_untouched(frame, JL_DECAP_CNT_PASS_UNCONFIGURED, &h);
        }
        CHECK(h.counter(JL_DECAP_CNT_PASS_UNCONFIGURED).packets == 6);
    }
    // Traffic that is no tunnel is unaffected by the configuration.
    expect_untouched(bare(Inner::v4), JL_DECAP_CNT_PASS_NOT_TUNNEL);
}

TEST_CASE("decap: a packet from a foreign source to another destination passes untouched", "[decap]") {
    // Not for this host: the kernel decides (it forwards or drops it), as before.
    Configured h;
    Packet p = eth();
    p.ipv4("198.18.0.99", "198.18.0.21");
    expect_untouched(inner(p, Inner::v4).build(), JL_DECAP_CNT_PASS_NOT_LOCAL, &h);
    CHECK(h.counter(JL_DECAP_CNT_DROP_SOURCE).packets == 0);
}

TEST_CASE("decap: traffic that is no tunnel passes untouched", "[decap]") {
    expect_untouched(bare(Inner::v4), JL_DECAP_CNT_PASS_NOT_TUNNEL);
    expect_untouched(bare(Inner::v6, 10), JL_DECAP_CNT_PASS_NOT_TUNNEL);
    expect_untouched(Packet().eth(kBackendMac, kLbMac).ipv4(kLb4, kBe4).udp(53, 53).payload("dns").build(),
                     JL_DECAP_CNT_PASS_NOT_TUNNEL);
    expect_untouched(Packet().eth(kBackendMac, kLbMac).ethertype(kEthArp).payload_size(28).build(),
                     JL_DECAP_CNT_PASS_NOT_TUNNEL);
    // 6in4 is no forwarding mode of julier; the kernel decides.
    Packet sit = eth();
    sit.ipv4(kLb4, kBe4);
    expect_untouched(inner(sit, Inner::v6).build(), JL_DECAP_CNT_PASS_NOT_TUNNEL);
}

TEST_CASE("decap: a frame cut at any byte passes untouched", "[decap]") {
    std::vector<std::pair<const char*, Bytes>> frames;
    {
        Packet p = eth(5);
        p.ipv4(kLb4, kBe4);
        frames.emplace_back("IPIP", inner(p, Inner::v4).build());
    }
    {
        Packet p = eth();
        p.ipv6(kLb6, kBe6).udp(50000, kGue).gue();
        frames.emplace_back("GUE over IPv6", inner(p, Inner::v6).build());
    }
    {
        Packet p = eth();
        p.ipv4(kLb4, kBe4).udp(50000, kGue);
        frames.emplace_back("GUE variant 1", inner(p, Inner::v4).build());
    }
    for (const auto& [name, full] : frames) {
        Configured h;
        // BPF_PROG_TEST_RUN takes no XDP frame shorter than an Ethernet header.
        for (size_t n = 14; n < full.size(); n++) {
            INFO(name << " cut to " << n << " of " << full.size() << " bytes");
            Bytes cut = truncated(full, n);
            XdpResult r = h.run(cut);
            CHECK(r.verdict == XDP_PASS);
            CHECK(hex_diff(cut, r.data) == "");
        }
        auto all = h.counters();
        uint64_t malformed = all[JL_DECAP_CNT_PASS_MALFORMED].packets;
        INFO(name);
        CHECK(malformed == full.size() - 14);  // every cut names the broken outer packet
    }
}

TEST_CASE("decap: broken or unsupported tunnel headers pass untouched", "[decap]") {
    auto gue = [](const std::function<void(Packet&)>& edit) {
        Packet p = eth();
        p.ipv4(kLb4, kBe4).udp(50000, kGue).gue();
        edit(p);
        return inner(p, Inner::v4).build();
    };
    SECTION("GUE optional fields announced by a flag") {
        expect_untouched(gue([](Packet& p) { p.gue_hlen(1).gue_flags(1); }), JL_DECAP_CNT_PASS_MALFORMED);
    }
    SECTION("GUE control message") {
        expect_untouched(gue([](Packet& p) { p.gue_control(); }), JL_DECAP_CNT_PASS_MALFORMED);
    }
    SECTION("GUE variant 2") {
        expect_untouched(gue([](Packet& p) { p.gue_version(2); }), JL_DECAP_CNT_PASS_MALFORMED);
    }
    SECTION("GUE carrying a protocol that is not IP") {
        expect_untouched(gue([](Packet& p) { p.gue_proto(kProtoUdp); }), JL_DECAP_CNT_PASS_MALFORMED);
    }
    SECTION("GUE protocol and inner header disagree") {
        expect_untouched(gue([](Packet& p) { p.gue_proto(kProtoIpv6); }), JL_DECAP_CNT_PASS_MALFORMED);
    }
    SECTION("GUE variant 1 whose first nibble is no IP version") {
        Packet p = eth();
        p.ipv4(kLb4, kBe4).udp(50000, kGue);
        inner(p, Inner::v4).ip_version(5);
        expect_untouched(p.build(), JL_DECAP_CNT_PASS_MALFORMED);
    }
    SECTION("IPIP whose inner header has IHL 4") {
        Packet p = eth();
        p.ipv4(kLb4, kBe4);
        inner(p, Inner::v4).with<Ip4Layer>([](Ip4Layer& l) { l.ihl = 4; });
        expect_untouched(p.build(), JL_DECAP_CNT_PASS_MALFORMED);
    }
    SECTION("outer IPv4 with IHL 4") {
        Packet p = eth();
        p.ipv4(kLb4, kBe4).ihl(4);
        expect_untouched(inner(p, Inner::v4).build(), JL_DECAP_CNT_PASS_MALFORMED);
    }
    SECTION("outer IPv4 total length beyond the frame") {
        Packet p = eth();
        p.ipv4(kLb4, kBe4).total_length(1400);
        expect_untouched(inner(p, Inner::v4).build(), JL_DECAP_CNT_PASS_MALFORMED);
    }
    SECTION("outer IPv6 payload length beyond the frame") {
        Packet p = eth();
        p.ipv6(kLb6, kBe6).payload_length(1400);
        expect_untouched(inner(p, Inner::v6).build(), JL_DECAP_CNT_PASS_MALFORMED);
    }
}

TEST_CASE("decap: fragments are never decapsulated", "[decap]") {
    Packet v4 = eth();
    v4.ipv4(kLb4, kBe4).mf();
    expect_untouched(inner(v4, Inner::v4).build(), JL_DECAP_CNT_PASS_FRAGMENT);
    Packet v4_last = eth();
    v4_last.ipv4(kLb4, kBe4).frag_offset(185).ip_proto(kProtoIpip).payload_size(40);
    expect_untouched(v4_last.build(), JL_DECAP_CNT_PASS_FRAGMENT);
    Packet v6 = eth();
    v6.ipv6(kLb6, kBe6).fragment6(0, true, 99);
    expect_untouched(inner(v6, Inner::v6).build(), JL_DECAP_CNT_PASS_FRAGMENT);
}

TEST_CASE("decap: ECN follows RFC 6040", "[decap]") {
    struct Case {
        uint8_t outer, inner, result;  // result 0xff: dropped
    };
    // RFC 6040 section 4.2, figure 4 (the rows this decapsulator implements).
    const Case cases[] = {
        {kEcnCe, kEct0, kEcnCe},   {kEcnCe, kEct1, kEcnCe},   {kEcnCe, kEcnCe, kEcnCe},  {kEcnCe, kNotEct, 0xff},
        {kEct1, kEct0, kEct1},     {kEct1, kEct1, kEct1},     {kEct1, kNotEct, kNotEct}, {kEct0, kEct1, kEct1},
        {kEct0, kNotEct, kNotEct}, {kNotEct, kEcnCe, kEcnCe}, {kNotEct, kEct0, kEct0},
    };
    for (Inner family : {Inner::v4, Inner::v6}) {
        for (const Case& c : cases) {
            INFO((family == Inner::v4 ? "IPv4" : "IPv6")
                 << " inner, outer ECN " << int(c.outer) << ", inner ECN " << int(c.inner));
            Packet p = eth();
            p.ipv6(kLb6, kBe6).tos(0xb8).ecn(c.outer);  // DSCP EF outside: must not leak inside
            Bytes in = inner(p, family, c.inner).build();
            if (c.result == 0xff) {
                Configured h;
                XdpResult r = h.run(in);
                CHECK(verdict_name(r.verdict) == std::string("XDP_DROP"));
                check_only(h, JL_DECAP_CNT_DROP_ECN, in.size());
                continue;
            }
            jl_decap_counter kind = family == Inner::v4 ? JL_DECAP_CNT_DECAP_IP4IN6 : JL_DECAP_CNT_DECAP_IP6IP6;
            // The builder computes the IPv4 header checksum of the expected frame afresh.
            expect_decap(in, bare(family, std::nullopt, c.result), kind);
        }
    }
    // The same through an IPv4 outer header and GUE.
    Packet p = eth();
    p.ipv4(kLb4, kBe4).ecn(kEcnCe).udp(50000, kGue).gue();
    expect_decap(inner(p, Inner::v4, kEct1).build(), bare(Inner::v4, std::nullopt, kEcnCe), JL_DECAP_CNT_DECAP_GUE);
}
