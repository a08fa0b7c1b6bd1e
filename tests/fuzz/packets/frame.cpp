#include "frame.h"

#include <algorithm>

namespace julier::fuzz {

namespace {

constexpr uint16_t kTpid8021Q = 0x8100, kTpid8021ad = 0x88a8;
constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kDestOpts = 60;
constexpr int kMaxExtHeaders = 4;

bool is_ext(uint8_t nh) { return nh == kHopByHop || nh == kRouting || nh == kFragment || nh == kDestOpts; }

// Walk an IPv6 extension chain starting at off with next header nh, each header
// whole inside the frame and ending at or before limit. Returns false if broken or
// deeper than kMaxExtHeaders; fragment set (and the walk stopped) on a non-atomic
// fragment header.
bool walk_ext(std::span<const uint8_t> f, size_t& off, uint8_t& nh, size_t limit, bool& fragment,
              std::vector<size_t>* boundaries) {
    for (int i = 0; i < kMaxExtHeaders && is_ext(nh); i++) {
        if (off + 8 > f.size()) return false;
        uint8_t next = f[off];
        size_t len = nh == kFragment ? 8 : (size_t(f[off + 1]) + 1) * 8;
        bool real_fragment = nh == kFragment && (get16(f, off + 2) & 0xfff9) != 0;
        off += len;
        if (off > limit) return false;
        if (boundaries) boundaries->push_back(off);
        nh = next;
        if (real_fragment) {
            fragment = true;
            return true;
        }
    }
    return !is_ext(nh);
}

}  // namespace

uint16_t get16(std::span<const uint8_t> b, size_t off) { return uint16_t(b[off] << 8 | b[off + 1]); }
uint32_t get32(std::span<const uint8_t> b, size_t off) { return uint32_t(get16(b, off)) << 16 | get16(b, off + 2); }

bool icmp_is_error(int family, uint8_t type) {
    if (family == 4) return type == 3 || type == 11 || type == 12;
    return type >= 1 && type <= 4;
}

Frame parse_frame(std::span<const uint8_t> f) {
    Frame p;
    if (f.size() < 14) return p;
    p.boundaries.push_back(14);
    uint16_t type = get16(f, 12);
    p.l3 = 14;
    if (type == kTpid8021Q) {
        if (f.size() < 18) return p;
        p.boundaries.push_back(18);
        type = get16(f, 16);
        p.l3 = 18;
        p.tagged = true;
        if (type == kTpid8021Q || type == kTpid8021ad) return p;
    } else if (type == kTpid8021ad) {
        return p;
    }
    const size_t l3 = p.l3;
    if (type == 0x0800) {
        if (l3 + 20 > f.size()) return p;
        p.boundaries.push_back(l3 + 20);
        p.family = 4;
        std::copy_n(f.begin() + l3 + 12, 4, p.src.begin());
        std::copy_n(f.begin() + l3 + 16, 4, p.dst.begin());
        p.proto = f[l3 + 9];
        p.status = ParseStatus::kMalformed;
        uint8_t version = f[l3] >> 4;
        size_t hlen = size_t(f[l3] & 15) * 4;
        size_t tot = get16(f, l3 + 2);
        if (hlen > 20) p.boundaries.push_back(l3 + hlen);
        if (version != 4 || hlen < 20 || tot < hlen || l3 + tot > f.size()) return p;
        p.ip_len = tot;
        p.hdr_len = hlen;
        p.tos = f[l3 + 1];
        p.ttl = f[l3 + 8];
        uint16_t frag = get16(f, l3 + 6);
        p.df = frag & 0x4000;
        p.fragment = frag & 0x3fff;
    } else if (type == 0x86dd) {
        if (l3 + 40 > f.size()) return p;
        p.boundaries.push_back(l3 + 40);
        p.family = 6;
        std::copy_n(f.begin() + l3 + 8, 16, p.src.begin());
        std::copy_n(f.begin() + l3 + 24, 16, p.dst.begin());
        p.status = ParseStatus::kMalformedV6;
        size_t plen = get16(f, l3 + 4);
        if ((f[l3] >> 4) != 6 || l3 + 40 + plen > f.size()) return p;
        p.ip_len = 40 + plen;
        p.tos = uint8_t(get16(f, l3) >> 4);
        p.ttl = f[l3 + 7];
        size_t off = l3 + 40;
        uint8_t nh = f[l3 + 6];
        if (!walk_ext(f, off, nh, l3 + p.ip_len, p.fragment, &p.boundaries)) return p;
        p.proto = nh;
        p.hdr_len = off - l3;
        p.status = ParseStatus::kMalformed;
    } else {
        p.status = ParseStatus::kNotIp;
        return p;
    }
    if (p.fragment) {
        p.status = ParseStatus::kOk;
        return p;
    }
    // The transport header: whole in the frame and in the IP packet.
    size_t l4 = l3 + p.hdr_len, l4_len = p.ip_len - p.hdr_len;
    size_t need = 0;
    if (p.proto == 6)
        need = 20;
    else if (p.proto == 17)
        need = 8;
    else if (p.proto == 1 || p.proto == 58)
        need = 8;  // ICMP and ICMPv6 share the 8-byte layout
    if (need) {
        p.boundaries.push_back(l4 + need);
        if (l4_len < need || l4 + need > f.size()) return p;
    }
    if (p.proto == 6 || p.proto == 17) {
        p.sport = get16(f, l4);
        p.dport = get16(f, l4 + 2);
    }
    if (p.proto == 6) p.tcp_flags = f[l4 + 13];
    p.status = ParseStatus::kOk;
    return p;
}

bool parse_quote(std::span<const uint8_t> f, size_t off, int family, QuotedFlow& q) {
    uint8_t proto;
    size_t ports;
    if (family == 4) {
        if (off + 20 > f.size()) return false;
        size_t hlen = size_t(f[off] & 15) * 4;
        if ((f[off] >> 4) != 4 || hlen < 20 || (get16(f, off + 6) & 0x1fff)) return false;
        proto = f[off + 9];
        std::copy_n(f.begin() + off + 12, 4, q.vip.begin());
        std::copy_n(f.begin() + off + 16, 4, q.client.begin());
        ports = off + hlen;
    } else {
        if (off + 40 > f.size() || (f[off] >> 4) != 6) return false;
        std::copy_n(f.begin() + off + 8, 16, q.vip.begin());
        std::copy_n(f.begin() + off + 24, 16, q.client.begin());
        size_t o = off + 40;
        uint8_t nh = f[off + 6];
        bool fragment = false;
        if (!walk_ext(f, o, nh, SIZE_MAX, fragment, nullptr) || fragment) return false;
        proto = nh;
        ports = o;
    }
    if (ports + 4 > f.size() || (proto != 6 && proto != 17)) return false;
    q.proto = proto;
    q.vip_port = get16(f, ports);
    q.client_port = get16(f, ports + 2);
    return true;
}

}  // namespace julier::fuzz
