// An independent reference of the forwarder's flow hash (docs/forwarder.md "Flow
// hash"), for fixtures and test programs that predict which backend a packet reaches.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "julier/abi.h"
#include "packet.h"

namespace julier::test::lbfix {

inline bool is_v6(std::string_view addr) { return addr.find(':') != std::string_view::npos; }

// ---- reference flow hash ---------------------------------------------------------------
// Bob Jenkins' lookup3 hashword(), written from its published description for this
// test (the datapath has its own); test_lb_hash.cpp pins it to vectors computed with
// a third implementation that reproduces lookup3.c's published test values.

inline uint32_t rot(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

inline uint32_t lookup3_hashword(std::span<const uint32_t> k, uint32_t initval) {
    uint32_t a = 0xdeadbeefu + (static_cast<uint32_t>(k.size()) << 2) + initval;
    uint32_t b = a, c = a;
    size_t i = 0, left = k.size();
    while (left > 3) {
        a += k[i];
        b += k[i + 1];
        c += k[i + 2];
        a -= c, a ^= rot(c, 4), c += b;
        b -= a, b ^= rot(a, 6), a += c;
        c -= b, c ^= rot(b, 8), b += a;
        a -= c, a ^= rot(c, 16), c += b;
        b -= a, b ^= rot(a, 19), a += c;
        c -= b, c ^= rot(b, 4), b += a;
        i += 3;
        left -= 3;
    }
    if (left == 0) return c;
    if (left == 3) c += k[i + 2];
    if (left >= 2) b += k[i + 1];
    a += k[i];
    c ^= b, c -= rot(b, 14);
    a ^= c, a -= rot(c, 11);
    b ^= a, b -= rot(a, 25);
    c ^= b, c -= rot(b, 16);
    a ^= c, a -= rot(c, 4);
    b ^= a, b -= rot(a, 14);
    c ^= b, c -= rot(b, 24);
    return c;
}

// Host-order 32-bit words of an address as it reads on the wire.
inline std::vector<uint32_t> addr_words(std::string_view text) {
    std::vector<uint32_t> w;
    auto push = [&](std::span<const uint8_t> bytes) {
        for (size_t i = 0; i < bytes.size(); i += 4)
            w.push_back(uint32_t(bytes[i]) << 24 | uint32_t(bytes[i + 1]) << 16 | uint32_t(bytes[i + 2]) << 8 |
                        bytes[i + 3]);
    };
    if (is_v6(text)) {
        auto a = ip6(text);
        push(a);
    } else {
        auto a = ip4(text);
        push(a);
    }
    return w;
}

// docs/forwarder.md "Flow hash": the 5-tuple, the source alone, the address pair.
inline uint32_t ref_flow_hash(std::string_view src, std::string_view dst, uint16_t sport, uint16_t dport,
                              uint8_t proto) {
    std::vector<uint32_t> w = addr_words(src);
    for (uint32_t x : addr_words(dst)) w.push_back(x);
    w.push_back(uint32_t(sport) << 16 | dport);
    w.push_back(proto);
    return lookup3_hashword(w, JL_HASH_SEED);
}
inline uint32_t ref_source_hash(std::string_view src) { return lookup3_hashword(addr_words(src), JL_HASH_SEED); }
// hash: no_source_port is the 5-tuple's words with source port 0; destination_port
// hashes the port and the protocol.
inline uint32_t ref_no_source_port_hash(std::string_view src, std::string_view dst, uint16_t dport, uint8_t proto) {
    return ref_flow_hash(src, dst, 0, dport, proto);
}
inline uint32_t ref_destination_port_hash(uint16_t dport, uint8_t proto) {
    return lookup3_hashword(std::vector<uint32_t>{dport, proto}, JL_HASH_SEED);
}
inline uint32_t ref_pair_hash(std::string_view src, std::string_view dst) {
    std::vector<uint32_t> w = addr_words(src);
    for (uint32_t x : addr_words(dst)) w.push_back(x);
    return lookup3_hashword(w, JL_HASH_SEED);
}

}  // namespace julier::test::lbfix
