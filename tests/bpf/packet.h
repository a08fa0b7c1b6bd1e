// Test-only packet builder and checkers.
//
// Written from the RFCs (791, 793, 768, 792, 8200, 4443, 1071) and the GUE draft,
// independently of the data plane, so that a fixture built here is an independent
// statement of what the wire should look like.
//
//   Bytes f = Packet()
//                 .eth(kClientMac, kLbMac).vlan(100)
//                 .ipv4("198.18.0.10", "198.19.0.1").ttl(64).df()
//                 .tcp(40000, 80).flags(kTcpAck).seq(1)
//                 .payload("hello")
//                 .build();
//
// Layers are listed outermost first. Lengths, protocol numbers, ethertypes and
// checksums are computed at build() unless a test overrides them (to corrupt them).
// Modifiers such as ttl() or flags() apply to the most recent layer of their kind.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace julier::test {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;
using Ip4Addr = std::array<uint8_t, 4>;
using Ip6Addr = std::array<uint8_t, 16>;

// Text to address; throw std::invalid_argument naming the text on a bad one.
Mac mac(std::string_view text);
Ip4Addr ip4(std::string_view text);
Ip6Addr ip6(std::string_view text);

// "0a0b 0c" (whitespace ignored) <-> bytes.
Bytes from_hex(std::string_view hex);
std::string to_hex(std::span<const uint8_t> bytes);

// RFC 1071 Internet checksum of data, starting from a partial one's-complement sum.
uint16_t inet_checksum(std::span<const uint8_t> data, uint32_t partial = 0);
// Unfolded one's-complement sum of data (big-endian 16-bit words), to chain pieces.
uint32_t ones_sum(std::span<const uint8_t> data, uint32_t partial = 0);

// TCP flag bits (RFC 793 + RFC 3168).
inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08, kTcpAck = 0x10, kTcpUrg = 0x20,
                         kTcpEce = 0x40, kTcpCwr = 0x80;
// ECN codepoints (RFC 3168), the low two bits of TOS / traffic class.
inline constexpr uint8_t kNotEct = 0, kEct1 = 1, kEct0 = 2, kEcnCe = 3;

inline constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd, kEthArp = 0x0806, kEthVlan = 0x8100, kEthQinQ = 0x88a8;
inline constexpr uint8_t kProtoIcmp = 1, kProtoIpip = 4, kProtoTcp = 6, kProtoUdp = 17, kProtoIpv6 = 41,
                         kProtoRouting = 43, kProtoFragment = 44, kProtoIcmp6 = 58, kProtoNone = 59,
                         kProtoDestOpts = 60, kProtoHopByHop = 0;

struct EthLayer {
    Mac dst{}, src{};
    std::vector<uint16_t> tags;  // 802.1Q TCIs, outermost first (TPID 0x8100 each)
    std::optional<uint16_t> type;
};

struct Ip4Layer {
    Ip4Addr src{}, dst{};
    uint8_t version = 4;
    uint8_t tos = 0, ttl = 64;
    uint16_t id = 1;
    bool df = false, mf = false;
    uint16_t frag_offset = 0;  // in 8-byte units
    Bytes options;             // padded with zeros (EOL) to a multiple of 4
    std::optional<uint8_t> ihl, proto;
    std::optional<uint16_t> total_length, checksum;
};

struct Ip6Ext {
    uint8_t type = kProtoHopByHop;  // hop-by-hop, routing, dest-opts or fragment
    Bytes body;                     // bytes after next-header and length; hop-by-hop/dest-opts are PadN-padded
};

struct Ip6Layer {
    Ip6Addr src{}, dst{};
    uint8_t version = 6;
    uint8_t traffic_class = 0, hop_limit = 64;
    uint32_t flow_label = 0;
    std::vector<Ip6Ext> ext;
    std::optional<uint8_t> next_header;  // of the last header in the chain
    std::optional<uint16_t> payload_length;
    // Destination for upper-layer checksums when a routing header is present (RFC 8200 8.1).
    std::optional<Ip6Addr> final_dst;
};

struct TcpLayer {
    uint16_t sport = 0, dport = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = kTcpAck;
    uint16_t window = 65535, urgent = 0;
    Bytes options;  // padded with zeros (EOL) to a multiple of 4
    std::optional<uint8_t> data_offset;
    std::optional<uint16_t> checksum;
};

struct UdpLayer {
    uint16_t sport = 0, dport = 0;
    std::optional<uint16_t> length, checksum;
};

struct IcmpLayer {  // ICMP (v6 = false) or ICMPv6 (v6 = true)
    bool v6 = false;
    uint8_t type = 0, code = 0;
    uint32_t rest = 0;  // the second 32-bit word: id/seq, unused, next-hop MTU, pointer
    std::optional<uint16_t> checksum;
};

struct GueLayer {  // GUE variant 0 header (variant 1 has no header: UDP then IP)
    uint8_t version = 0;
    bool control = false;
    uint8_t hlen = 0;  // 32-bit words of optional fields (zero-filled after `options`)
    uint16_t flags = 0;
    std::optional<uint8_t> proto;
    Bytes options;  // the first bytes of the optional-field area
};

struct RawLayer {
    Bytes data;
};

using Layer = std::variant<EthLayer, Ip4Layer, Ip6Layer, TcpLayer, UdpLayer, IcmpLayer, GueLayer, RawLayer>;

class Packet {
public:
    // Layers, outermost first.
    Packet& eth(const Mac& dst, const Mac& src);
    Packet& ipv4(std::string_view src, std::string_view dst);
    Packet& ipv4(const Ip4Addr& src, const Ip4Addr& dst);
    Packet& ipv6(std::string_view src, std::string_view dst);
    Packet& ipv6(const Ip6Addr& src, const Ip6Addr& dst);
    Packet& tcp(uint16_t sport, uint16_t dport);
    Packet& udp(uint16_t sport, uint16_t dport);
    Packet& icmp4(uint8_t type, uint8_t code, uint32_t rest = 0);
    Packet& icmp6(uint8_t type, uint8_t code, uint32_t rest = 0);
    Packet& gue();
    Packet& payload(std::span<const uint8_t> data);
    Packet& payload(std::string_view text);
    Packet& payload_size(size_t n);  // n bytes of a counting pattern
    Packet& layer(Layer l);

    // Ethernet.
    Packet& vlan(uint16_t vid, uint8_t pcp = 0);  // add one 802.1Q tag
    Packet& ethertype(uint16_t type);
    // IPv4 / IPv6: the most recent IP layer.
    Packet& ttl(uint8_t v);       // TTL or hop limit
    Packet& tos(uint8_t v);       // TOS or traffic class (incl. ECN bits)
    Packet& ecn(uint8_t v);       // only the two ECN bits
    Packet& ip_proto(uint8_t v);  // protocol / last next-header
    Packet& ip_version(uint8_t v);
    // IPv4 only.
    Packet& id(uint16_t v);
    Packet& df(bool v = true);
    Packet& mf(bool v = true);
    Packet& frag_offset(uint16_t units_of_8);
    Packet& ip_options(std::span<const uint8_t> options);
    Packet& ihl(uint8_t words);
    Packet& total_length(uint16_t v);
    Packet& ip_checksum(uint16_t v);
    // IPv6 only.
    Packet& flow_label(uint32_t v);
    Packet& payload_length(uint16_t v);
    Packet& hop_by_hop(std::span<const uint8_t> options = {});
    Packet& dest_opts(std::span<const uint8_t> options = {});
    Packet& routing(uint8_t routing_type, uint8_t segments_left, const std::vector<Ip6Addr>& addrs);
    Packet& fragment6(uint16_t offset_units_of_8, bool more, uint32_t ident);
    // TCP.
    Packet& flags(uint8_t v);
    Packet& seq(uint32_t v);
    Packet& ack(uint32_t v);
    Packet& window(uint16_t v);
    Packet& tcp_options(std::span<const uint8_t> options);
    Packet& data_offset(uint8_t words);
    // UDP.
    Packet& udp_length(uint16_t v);
    // TCP, UDP or ICMP: the most recent of those.
    Packet& l4_checksum(uint16_t v);
    // GUE.
    Packet& gue_proto(uint8_t v);
    Packet& gue_hlen(uint8_t words);
    Packet& gue_control(bool v = true);
    Packet& gue_version(uint8_t v);
    Packet& gue_flags(uint16_t v);
    // The optional-field area (a multiple of 4 bytes); hlen becomes its length in words.
    Packet& gue_options(Bytes v);

    // Anything else: edit the most recent layer of type T directly.
    template <class T>
    Packet& with(const std::function<void(T&)>& edit) {
        edit(last<T>());
        return *this;
    }

    Bytes build() const;
    const std::vector<Layer>& layers() const { return layers_; }

private:
    template <class T>
    T& last();
    Layer& last_ip();  // the most recent IPv4 or IPv6 layer
    std::vector<Layer> layers_;
};

// A copy of frame cut to its first n bytes (n larger than the frame keeps it whole).
Bytes truncated(Bytes frame, size_t n);

struct VerifyOptions {
    uint16_t gue_port = 6080;               // UDP destination port that carries GUE
    bool allow_zero_udp6_checksum = false;  // RFC 6935 tunnels
};

// Walk a frame (Ethernet, VLAN tags, IPv4/IPv6 with extension headers, tunnels of
// any depth incl. GUE, TCP/UDP/ICMP/ICMPv6 incl. the packet an ICMP error quotes)
// and check every checksum and length. Returns "" when all are right, otherwise one
// line per problem naming the layer, offset, found and expected value.
std::string verify_checksums(std::span<const uint8_t> frame, const VerifyOptions& opt = {});

// "" when equal; otherwise a readable hex dump of both with the differing bytes marked.
std::string hex_diff(std::span<const uint8_t> expected, std::span<const uint8_t> actual);

}  // namespace julier::test
