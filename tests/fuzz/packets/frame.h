// An independent reading of a frame as docs/forwarder.md describes the forwarder's
// parser: Ethernet, at most one 802.1Q tag, IPv4 (IHL, total length) or IPv6 (up to
// four extension headers), the transport header, and the flow an ICMP error quotes.
// Written for the fuzzer from the documentation, sharing no code with xdp/.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "catalogue.h"

namespace julier::fuzz {

enum class ParseStatus {
    kOk,
    kNotIp,        // neither IPv4 nor IPv6 behind Ethernet (and one tag)
    kUnreadable,   // the destination address cannot be read
    kMalformed,    // destination and protocol known, the rest broken
    kMalformedV6,  // IPv6 destination known, its extension chain broken
};

struct Frame {
    ParseStatus status = ParseStatus::kUnreadable;
    size_t l3 = 0;        // offset of the IP header
    bool tagged = false;  // one 802.1Q tag
    int family = 0;       // 4 or 6 once the IP header is readable
    Addr src{}, dst{};
    uint8_t proto = 0;   // transport protocol (IPv6: after the extension chain)
    size_t ip_len = 0;   // IPv4 total length / 40 + IPv6 payload length
    size_t hdr_len = 0;  // IP header incl. options / extension headers
    bool fragment = false;
    bool df = false;
    uint8_t ttl = 0, tos = 0;
    uint16_t sport = 0, dport = 0;   // TCP/UDP, not fragments
    uint8_t tcp_flags = 0;           // TCP: byte 13 of the header (CWR ... FIN)
    std::vector<size_t> boundaries;  // offsets where a header ends (for truncation)
};

Frame parse_frame(std::span<const uint8_t> f);

// The client's flow an ICMP error quotes (the quoted reply reversed): the quoted
// packet starts at off; it is bounded by the frame only. false if it quotes no
// TCP/UDP packet of the family.
struct QuotedFlow {
    Addr vip{}, client{};
    uint16_t vip_port = 0, client_port = 0;
    uint8_t proto = 0;
};
bool parse_quote(std::span<const uint8_t> f, size_t off, int family, QuotedFlow& out);

bool icmp_is_error(int family, uint8_t type);

uint16_t get16(std::span<const uint8_t> b, size_t off);
uint32_t get32(std::span<const uint8_t> b, size_t off);

}  // namespace julier::fuzz
