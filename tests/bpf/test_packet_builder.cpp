// The test packet builder against frames made by an independent implementation.
//
// Reference frames were generated once with scapy 2.5 (python3-scapy, Debian 12) and
// pasted here as hex, e.g. for "v4 TCP SYN":
//   raw(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
//       / IP(src="198.18.0.10", dst="198.19.0.1", flags="DF", id=7)
//       / TCP(sport=40000, dport=80, seq=1000, flags="S", window=65535) / Raw(b"hello")).hex()
// Each case below states its scapy expression; GUE headers were given to scapy as Raw
// bytes, since scapy has no GUE layer. scapy is not needed to run these tests.
#include <catch2/catch.hpp>

#include <algorithm>

#include "packet.h"

using namespace julier::test;

namespace {

const Mac kA = mac("02:00:00:00:00:01");
const Mac kB = mac("02:00:00:00:00:02");

// TCP as the reference frames use it unless stated: ACK, seq 1, window 65535.
Packet& tcp_ref(Packet& p, uint16_t sport = 40000, uint16_t dport = 80) {
    return p.tcp(sport, dport).flags(kTcpAck).seq(1).window(65535);
}

void check_equal(const Bytes& built, std::string_view scapy_hex) {
    Bytes expected = from_hex(scapy_hex);
    INFO(hex_diff(expected, built));
    CHECK(built == expected);
    CHECK(verify_checksums(built) == "");
    CHECK(verify_checksums(expected) == "");
}

}  // namespace

TEST_CASE("builder matches scapy: IPv4 TCP SYN with DF and payload", "[packet]") {
    // Ether()/IP(src="198.18.0.10",dst="198.19.0.1",flags="DF",id=7)
    //   /TCP(sport=40000,dport=80,seq=1000,flags="S",window=65535)/Raw(b"hello")
    Bytes f = Packet()
                  .eth(kB, kA)
                  .ipv4("198.18.0.10", "198.19.0.1")
                  .df()
                  .id(7)
                  .tcp(40000, 80)
                  .flags(kTcpSyn)
                  .seq(1000)
                  .window(65535)
                  .payload("hello")
                  .build();
    check_equal(f,
                "02000000000202000000000108004500002d000740004006ae93c612000ac61300019c400050000003e800"
                "0000005002ffff3f62000068656c6c6f");
}

TEST_CASE("builder matches scapy: VLAN IPv6 UDP with traffic class and flow label", "[packet]") {
    // Ether()/Dot1Q(vlan=100,prio=5)/IPv6(src="2001:db8::10",dst="2001:db8:1::1",tc=0xb9,
    //   fl=0x12345,hlim=9)/UDP(sport=5353,dport=53)/Raw(b"query")
    Bytes f = Packet()
                  .eth(kB, kA)
                  .vlan(100, 5)
                  .ipv6("2001:db8::10", "2001:db8:1::1")
                  .tos(0xb9)
                  .flow_label(0x12345)
                  .ttl(9)
                  .udp(5353, 53)
                  .payload("query")
                  .build();
    check_equal(f,
                "0200000000020200000000018100a06486dd6b912345000d110920010db800000000000000000000001020"
                "010db800010000000000000000000114e90035000d3f4a7175657279");
}

TEST_CASE("builder matches scapy: IPv4 options, TOS, MF fragment", "[packet]") {
    // IP(src="198.18.0.10",dst="198.19.0.1",options=[IPOption_Router_Alert()],flags="MF",
    //   tos=0xb8,ttl=5,id=0x1234)/UDP(sport=1000,dport=2000)/Raw(b"abcdefgh")
    const uint8_t router_alert[] = {0x94, 0x04, 0x00, 0x00};
    Bytes f = Packet()
                  .eth(kB, kA)
                  .ipv4("198.18.0.10", "198.19.0.1")
                  .ip_options(router_alert)
                  .mf()
                  .tos(0xb8)
                  .ttl(5)
                  .id(0x1234)
                  .udp(1000, 2000)
                  .payload("abcdefgh")
                  .build();
    check_equal(f,
                "020000000002020000000001080046b8002812342000051161a4c612000ac61300019404000003e807d000"
                "10d64f6162636465666768");
}

TEST_CASE("builder matches scapy: IPv6 hop-by-hop, routing, dest-opts, fragment", "[packet]") {
    // IPv6(src="2001:db8::10",dst="2001:db8::a")/IPv6ExtHdrHopByHop()
    //   /IPv6ExtHdrRouting(addresses=["2001:db8::b","2001:db8:1::1"],segleft=2)
    //   /IPv6ExtHdrDestOpt()/IPv6ExtHdrFragment(offset=0,m=0,id=7)
    //   /TCP(sport=40001,dport=443,seq=5,flags="A",window=65535)/Raw(b"xxx")
    // The TCP checksum uses the routing header's final destination.
    Packet p;
    p.eth(kB, kA)
        .ipv6("2001:db8::10", "2001:db8::a")
        .hop_by_hop()
        .routing(0, 2, {ip6("2001:db8::b"), ip6("2001:db8:1::1")})
        .dest_opts()
        .fragment6(0, false, 7);
    tcp_ref(p, 40001, 443).seq(5).payload("xxx");
    check_equal(p.build(),
                "02000000000202000000000186dd600000000057004020010db800000000000000000000001020010db800"
                "000000000000000000000a2b000104000000003c0400020000000020010db800000000000000000000000b"
                "20010db80001000000000000000000012c0001040000000006000000000000079c4101bb00000005000000"
                "005010ffffc5d30000787878");
}

TEST_CASE("builder matches scapy: ICMP fragmentation needed quoting a packet", "[packet]") {
    // quoted = raw(IP(src="198.18.0.10",dst="198.19.0.1",flags="DF")
    //               /TCP(sport=40000,dport=80,seq=1,flags="A",window=65535)/Raw(b"y"*100))[:28]
    // IP(src="198.18.0.1",dst="198.18.0.10")/ICMP(type=3,code=4,nexthopmtu=1400)/Raw(quoted)
    Packet q;
    q.ipv4("198.18.0.10", "198.19.0.1").df();
    tcp_ref(q).payload(Bytes(100, 'y'));
    Bytes quoted = truncated(q.build(), 28);
    Bytes f = Packet().eth(kB, kA).ipv4("198.18.0.1", "198.18.0.10").icmp4(3, 4, 1400).payload(quoted).build();
    check_equal(f,
                "020000000002020000000001080045000038000100004001ee94c6120001c612000a03045af20000057845"
                "00008c000140004006ae3ac612000ac61300019c40005000000001");
}

TEST_CASE("builder matches scapy: ICMPv6 packet too big quoting a packet", "[packet]") {
    // quoted = raw(IPv6(src="2001:db8::10",dst="2001:db8:1::1")
    //               /TCP(sport=40000,dport=80,seq=1,flags="A",window=65535)/Raw(b"z"*40))[:64]
    // IPv6(src="2001:db8::1",dst="2001:db8::10")/ICMPv6PacketTooBig(mtu=1280)/Raw(quoted)
    Packet q;
    q.ipv6("2001:db8::10", "2001:db8:1::1");
    tcp_ref(q).payload(Bytes(40, 'z'));
    Bytes f = Packet()
                  .eth(kB, kA)
                  .ipv6("2001:db8::1", "2001:db8::10")
                  .icmp6(2, 0, 1280)
                  .payload(truncated(q.build(), 64))
                  .build();
    check_equal(f,
                "02000000000202000000000186dd6000000000483a4020010db800000000000000000000000120010db800"
                "00000000000000000000100200d35c0000050060000000003c064020010db800000000000000000000001020"
                "010db80001000000000000000000019c40005000000001000000005010ffff260600007a7a7a7a");
}

TEST_CASE("builder matches scapy: ICMP echo request", "[packet]") {
    // IP(src="198.18.0.10",dst="198.19.0.1")/ICMP(type=8,id=0x4242,seq=3)/Raw(b"ping")
    Bytes f = Packet().eth(kB, kA).ipv4("198.18.0.10", "198.19.0.1").icmp4(8, 0, 0x42420003).payload("ping").build();
    check_equal(f, "020000000002020000000001080045000020000100004001eeabc612000ac61300010800d6e94242000370696e67");
}

TEST_CASE("builder matches scapy: IPIP", "[packet]") {
    // IP(src="198.18.0.2",dst="198.18.0.20",id=0)/IP(src="198.18.0.10",dst="198.19.0.1")
    //   /TCP(sport=40000,dport=80,seq=1,flags="A",window=65535)/Raw(b"data")
    Packet p;
    p.eth(kB, kA).ipv4("198.18.0.2", "198.18.0.20").id(0).ipv4("198.18.0.10", "198.19.0.1");
    tcp_ref(p).payload("data");
    check_equal(p.build(),
                "020000000002020000000001080045000040000000004004ee7fc6120002c61200144500002c0001000040"
                "06ee9ac612000ac61300019c40005000000001000000005010ffffae4b000064617461");
}

TEST_CASE("builder matches scapy: IPv6 in IPv6", "[packet]") {
    // IPv6(src="2001:db8::2",dst="2001:db8::20")/IPv6(src="2001:db8::10",dst="2001:db8:1::1",
    //   fl=0xabcde)/TCP(sport=40000,dport=80,seq=1,flags="A",window=65535)/Raw(b"data")
    Packet p;
    p.eth(kB, kA).ipv6("2001:db8::2", "2001:db8::20").ipv6("2001:db8::10", "2001:db8:1::1").flow_label(0xabcde);
    tcp_ref(p).payload("data");
    check_equal(p.build(),
                "02000000000202000000000186dd600000000040294020010db800000000000000000000000220010db800"
                "0000000000000000000020600abcde0018064020010db800000000000000000000001020010db800010000"
                "00000000000000019c40005000000001000000005010ffffdef8000064617461");
}

TEST_CASE("builder matches scapy: IPv4 in IPv6", "[packet]") {
    // IPv6(src="2001:db8::2",dst="2001:db8::20")/IP(src="198.18.0.10",dst="198.19.0.1")
    //   /TCP(sport=40000,dport=80,seq=1,flags="A",window=65535)/Raw(b"data")
    Packet p;
    p.eth(kB, kA).ipv6("2001:db8::2", "2001:db8::20").ipv4("198.18.0.10", "198.19.0.1");
    tcp_ref(p).payload("data");
    check_equal(p.build(),
                "02000000000202000000000186dd60000000002c044020010db800000000000000000000000220010db800"
                "00000000000000000000204500002c000100004006ee9ac612000ac61300019c40005000000001000000"
                "005010ffffae4b000064617461");
}

TEST_CASE("builder matches scapy: GUE variant 0, IPv6 in IPv4", "[packet]") {
    // IP(src="198.18.0.2",dst="198.18.0.20",id=0)/UDP(sport=50000,dport=6080)
    //   /Raw(b"\x00\x29\x00\x00")/IPv6(src="2001:db8::10",dst="2001:db8:1::1")
    //   /TCP(sport=40000,dport=80,seq=1,flags="A",window=65535)/Raw(b"data")
    Packet p;
    p.eth(kB, kA).ipv4("198.18.0.2", "198.18.0.20").id(0).udp(50000, 6080).gue().ipv6("2001:db8::10", "2001:db8:1::1");
    tcp_ref(p).payload("data");
    check_equal(p.build(),
                "020000000002020000000001080045000060000000004011ee52c6120002c6120014c35017c0004c31a700"
                "290000600000000018064020010db800000000000000000000001020010db800010000000000000000000"
                "19c40005000000001000000005010ffffdef8000064617461");
}

TEST_CASE("builder matches scapy: GUE variant 1 (direct IPv4) in VLAN IPv6", "[packet]") {
    // Ether()/Dot1Q(vlan=7)/IPv6(src="2001:db8::2",dst="2001:db8::20")/UDP(sport=50001,dport=6080)
    //   /IP(src="198.18.0.10",dst="198.19.0.1")/UDP(sport=1234,dport=53)/Raw(b"q")
    Bytes f = Packet()
                  .eth(kB, kA)
                  .vlan(7)
                  .ipv6("2001:db8::2", "2001:db8::20")
                  .udp(50001, 6080)
                  .ipv4("198.18.0.10", "198.19.0.1")
                  .udp(1234, 53)
                  .payload("q")
                  .build();
    check_equal(f,
                "0200000000020200000000018100000786dd600000000025114020010db80000000000000000000000022001"
                "0db8000000000000000000000020c35117c00025554a4500001d000100004011ee9ec612000ac613000104d2"
                "00350009fda371");
}

TEST_CASE("inet_checksum: RFC 1071 worked example", "[packet]") {
    // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement).
    const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK(ones_sum(data) == 0xddf2);
    CHECK(inet_checksum(data) == 0x220d);
    const uint8_t odd[] = {0x00, 0x01, 0xf2};  // trailing byte padded with zero
    CHECK(ones_sum(odd) == 0xf201);
}

TEST_CASE("verify_checksums names the wrong checksum at any depth", "[packet]") {
    auto gue_frame = [](uint16_t inner_tcp_csum) {
        Packet p;
        p.eth(kB, kA).ipv6("2001:db8::2", "2001:db8::20").udp(50000, 6080).gue().ipv4("198.18.0.10", "198.19.0.1");
        tcp_ref(p);
        if (inner_tcp_csum) p.l4_checksum(inner_tcp_csum);
        return p.payload("data").build();
    };
    REQUIRE(verify_checksums(gue_frame(0)) == "");
    std::string report = verify_checksums(gue_frame(0x1234));
    CHECK_THAT(report, Catch::StartsWith("eth/ipv6/udp/gue/ipv4/tcp: TCP checksum is 0x1234, expected 0xae4b"));
    // The outer UDP checksum was computed over the corrupted bytes, so it is right.
    CHECK(std::count(report.begin(), report.end(), '\n') == 1);

    Bytes ipip = Packet()
                     .eth(kB, kA)
                     .ipv4("198.18.0.2", "198.18.0.20")
                     .ipv4("198.18.0.10", "198.19.0.1")
                     .ip_checksum(0xbeef)
                     .udp(1, 2)
                     .build();
    CHECK_THAT(verify_checksums(ipip), Catch::Contains("eth/ipv4/ipv4: header checksum is 0xbeef"));

    Packet q;
    q.ipv4("198.18.0.10", "198.19.0.1").ip_checksum(0x0001);
    tcp_ref(q);
    Bytes icmp = Packet()
                     .eth(kB, kA)
                     .ipv4("198.18.0.1", "198.18.0.10")
                     .icmp4(3, 4, 1400)
                     .payload(truncated(q.build(), 28))
                     .build();
    CHECK(verify_checksums(icmp) ==
          "eth/ipv4/icmp/quoted/ipv4: header checksum is 0x0001, expected 0xee9e (offset 52)\n");
    icmp[36] ^= 0x01;  // the ICMP checksum field itself
    CHECK_THAT(verify_checksums(icmp), Catch::Contains("eth/ipv4/icmp: ICMP checksum"));
}

TEST_CASE("verify_checksums reports impossible lengths", "[packet]") {
    Packet p;
    p.eth(kB, kA).ipv4("198.18.0.10", "198.19.0.1");
    tcp_ref(p).payload("data");
    Bytes f = p.build();
    CHECK_THAT(verify_checksums(truncated(f, f.size() - 1)), Catch::Contains("eth/ipv4: total length 44 exceeds"));
    CHECK_THAT(verify_checksums(truncated(f, 20)), Catch::Contains("truncated header"));

    Bytes bad_ihl = Packet().eth(kB, kA).ipv4("198.18.0.10", "198.19.0.1").ihl(4).udp(1, 2).build();
    CHECK_THAT(verify_checksums(bad_ihl), Catch::Contains("IHL 4 is below 5"));

    Bytes bad_udp = Packet().eth(kB, kA).ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).udp_length(9).build();
    CHECK_THAT(verify_checksums(bad_udp), Catch::Contains("eth/ipv6/udp: length 9 but 8 bytes"));

    Bytes zero6 = Packet().eth(kB, kA).ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).l4_checksum(0).build();
    CHECK_THAT(verify_checksums(zero6), Catch::Contains("UDP checksum is 0"));
    CHECK(verify_checksums(zero6, {.gue_port = 6080, .allow_zero_udp6_checksum = true}) == "");
    Bytes zero4 = Packet().eth(kB, kA).ipv4("198.18.0.1", "198.18.0.2").udp(1, 2).l4_checksum(0).build();
    CHECK(verify_checksums(zero4) == "");  // IPv4: zero means "no checksum"
}

TEST_CASE("builder overrides corrupt exactly the field named", "[packet]") {
    auto base = [] { return Packet().eth(kB, kA).ipv4("198.18.0.10", "198.19.0.1").udp(1, 2); };
    Bytes good = base().build();
    Bytes bad = base().total_length(99).build();
    REQUIRE(good.size() == bad.size());
    CHECK(bad[16] == 0);
    CHECK(bad[17] == 99);
    // The header checksum follows the corrupted length, so only the length is wrong.
    CHECK_THAT(verify_checksums(bad), !Catch::Contains("header checksum"));
    CHECK(base().ihl(15).build()[14] == 0x4f);
    CHECK(base().ip_version(5).build()[14] >> 4 == 5);
    CHECK(base().ethertype(0x1234).build()[13] == 0x34);

    // An IPv4 payload the builder cannot name needs an explicit protocol.
    CHECK_THROWS_AS(Packet().ipv4("198.18.0.1", "198.18.0.2").payload("x").build(), std::logic_error);
    CHECK(Packet().ipv4("198.18.0.1", "198.18.0.2").ip_proto(253).payload("x").build()[9] == 253);
    CHECK_THROWS_AS(Packet().tcp(1, 2).build(), std::logic_error);  // no pseudo-header source
    CHECK_THROWS_AS(Packet().flags(kTcpSyn), std::logic_error);
}

TEST_CASE("hex_diff marks the differing bytes", "[packet]") {
    Bytes a(40, 0);
    Bytes b = a;
    CHECK(hex_diff(a, b) == "");
    b[17] = 0xab;
    std::string d = hex_diff(a, b);
    CHECK_THAT(d,
               Catch::StartsWith("frames differ: expected 40 bytes, actual 40 bytes, first difference at 17 (0x11)"));
    CHECK_THAT(d, Catch::Contains("- 0010  00 00 00"));
    CHECK_THAT(d, Catch::Contains("+ 0010  00 ab 00"));
    CHECK_THAT(d, Catch::Contains("\n" + std::string(11, ' ') + "^^\n"));
    b[17] = 0;
    b.push_back(1);
    CHECK_THAT(hex_diff(a, b), Catch::Contains("expected 40 bytes, actual 41 bytes, first difference at 40"));
}

TEST_CASE("address and hex parsing reject bad text", "[packet]") {
    CHECK_THROWS_AS(ip4("198.18.0"), std::invalid_argument);
    CHECK_THROWS_AS(ip6("2001:db8::g"), std::invalid_argument);
    CHECK_THROWS_AS(mac("02:00:00:00:00"), std::invalid_argument);
    CHECK_THROWS_AS(from_hex("abc"), std::invalid_argument);
    CHECK(from_hex("0a 0B\nff") == Bytes{0x0a, 0x0b, 0xff});
    CHECK(to_hex(Bytes{0x0a, 0xff}) == "0aff");
}
