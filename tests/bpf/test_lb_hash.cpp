// The flow hash the forwarder uses to pick backends (docs/forwarder.md "Flow hash"):
// lookup3 hashword() seeded with JL_HASH_SEED over host-order words of the tuple.
// The fixtures compute expected backends with lbfix::lookup3_hashword; these vectors
// pin that reference. They were computed with a separate Python implementation of
// lookup3 that reproduces the published test values of lookup3.c
// (hashlittle("", 0) = 0xdeadbeef, hashlittle("Four score and seven years ago", 0)
// = 0x17770551, with seed 1 = 0xcd628161) and equals hashlittle() on the words'
// little-endian bytes.
#include <catch2/catch.hpp>

#include "julier/flow_pick.h"
#include "lb_fixture.h"

using namespace julier::test;
using namespace julier::test::lbfix;

TEST_CASE("lb hash: the reference hash reproduces independently computed lookup3 vectors", "[lb][hash]") {
    CHECK(lookup3_hashword(std::vector<uint32_t>{}, 0) == 0xdeadbeefu);
    CHECK(lookup3_hashword(std::vector<uint32_t>{1, 2, 3, 4, 5, 6, 7, 8}, JL_HASH_SEED) == 0x9092fe0fu);
    // 5-tuple 198.18.0.10:40000 -> 198.19.0.1:80 TCP.
    CHECK(ref_flow_hash("198.18.0.10", "198.19.0.1", 40000, 80, IPPROTO_TCP) == 0x47afc8c4u);
    // Source 198.18.0.10 alone, and the pair 198.18.0.10 -> 198.19.0.1.
    CHECK(ref_source_hash("198.18.0.10") == 0xef6dcc3au);
    CHECK(ref_pair_hash("198.18.0.10", "198.19.0.1") == 0x19308a29u);
    // 5-tuple [2001:db8::10]:40000 -> [2001:db8:ff::1]:443 UDP.
    CHECK(ref_flow_hash("2001:db8::10", "2001:db8:ff::1", 40000, 443, IPPROTO_UDP) == 0x8beae29du);
    // hash: no_source_port, IPv4 TCP port 80 and IPv6 UDP port 443; destination_port.
    CHECK(ref_no_source_port_hash("198.18.0.10", "198.19.0.1", 80, IPPROTO_TCP) == 0xa44ff845u);
    CHECK(ref_no_source_port_hash("2001:db8::10", "2001:db8:ff::1", 443, IPPROTO_UDP) == 0xb1b2ad5du);
    CHECK(ref_destination_port_hash(80, IPPROTO_TCP) == 0x80da57c4u);
    CHECK(ref_destination_port_hash(443, IPPROTO_UDP) == 0x2a947873u);
}

// The forwarder's own hash code (julier/flow_pick.h), compiled as C++ here as it is
// for `julierctl which`, gives the reference's values.
TEST_CASE("lb hash: julier/flow_pick.h compiled as C++ equals the reference", "[lb][hash]") {
    struct Tuple {
        const char* src;
        const char* dst;
        uint16_t sport, dport;
        uint8_t proto;
    };
    const Tuple tuples[] = {{"198.18.0.10", "198.19.0.1", 40000, 80, IPPROTO_TCP},
                            {"2001:db8::10", "2001:db8:ff::1", 40000, 443, IPPROTO_UDP},
                            {"198.18.255.1", "198.19.0.7", 1, 65535, IPPROTO_UDP}};
    for (const auto& t : tuples) {
        INFO(t.src << " -> " << t.dst);
        const jl_flow_key k = flow_key(t.src, t.dst, t.sport, t.dport, t.proto);
        CHECK(jl_hash_flow(&k) == ref_flow_hash(t.src, t.dst, t.sport, t.dport, t.proto));
        CHECK(jl_hash_source(&k) == ref_source_hash(t.src));
        CHECK(jl_hash_pair(&k) == ref_pair_hash(t.src, t.dst));
        CHECK(jl_ring_hash(&k, 0) == jl_hash_flow(&k));
        CHECK(jl_ring_hash(&k, JL_VIP_F_SOURCE_AFFINITY) == jl_hash_source(&k));
        CHECK(jl_ring_hash(&k, JL_VIP_F_HASH_NO_SOURCE_PORT) ==
              ref_no_source_port_hash(t.src, t.dst, t.dport, t.proto));
        CHECK(jl_ring_hash(&k, JL_VIP_F_HASH_DESTINATION_PORT) == ref_destination_port_hash(t.dport, t.proto));
    }
}
