// The VIP address filter (abi.h, jl_vip_filter): a clear bit in a written word
// passes a packet without a hash lookup; a set bit is only a hint; an unwritten
// filter changes nothing but speed.
#include <catch2/catch.hpp>

#include "lb_fixture.h"

using namespace julier::test;
using namespace julier::test::lbfix;

namespace {

Bytes tcp_to(std::string_view dst) {
    Packet p;
    p.eth(kLbMac, kPeerMac);
    if (is_v6(dst))
        p.ipv6(kClient6, dst);
    else
        p.ipv4(kClient4, dst);
    p.tcp(1000, 80).payload("f");
    return p.build();
}

}  // namespace

TEST_CASE("lb filter: an unwritten filter lets every address through to the lookups", "[lb][filter]") {
    LbHarness lb;
    ServiceSpec s;
    s.filter = false;
    install(lb, s);
    CHECK(l2_backend_of(lb, tcp_to(kVip4)) ==
          static_cast<int>(pick(s, ref_flow_hash(kClient4, kVip4, 1000, 80, IPPROTO_TCP))));
    expect_pass(lb, tcp_to(kOther4), JL_CNT_PASS_NOT_VIP);
}

TEST_CASE("lb filter: a written filter without the address's bit passes the packet", "[lb][filter]") {
    LbHarness lb;
    ServiceSpec s;
    s.filter = false;
    install(lb, s);
    lb.write_filter(0);  // every word written, no address bit set
    expect_pass(lb, tcp_to(kVip4), JL_CNT_PASS_NOT_VIP);
    lb.filter_add(0, kVip4);
    CHECK(lb.run(tcp_to(kVip4)).verdict == XDP_TX);
    // The side that is not live has its own filter.
    lb.set_active(1);
    expect_pass(lb, tcp_to(kVip4), JL_CNT_PASS_NOT_VIP);
}

TEST_CASE("lb filter: a set bit is only a hint; the lookups still decide", "[lb][filter]") {
    LbHarness lb;
    ServiceSpec s4;
    install(lb, s4);
    ServiceSpec s6;
    s6.vip = kVip6;
    s6.service_id = 2;
    s6.first_backend = 10;
    s6.ring_offset = 10;
    install(lb, s6);
    for (uint32_t i = 0; i < JL_VIP_FILTER_WORDS; i++) lb.put_filter_word(i, ~0ull);
    expect_pass(lb, tcp_to(kOther4), JL_CNT_PASS_NOT_VIP);
    expect_pass(lb, tcp_to(kOther6), JL_CNT_PASS_NOT_VIP);
    CHECK(lb.run(tcp_to(kVip4)).verdict == XDP_TX);
    CHECK(lb.run(tcp_to(kVip6)).verdict == XDP_TX);
}

TEST_CASE("lb filter: fragments and ICMP errors are filtered by the same bit", "[lb][filter]") {
    LbHarness lb;
    ServiceSpec s;
    s.filter = false;
    install(lb, s);
    lb.write_filter(0);
    Bytes frag = Packet()
                     .eth(kLbMac, kPeerMac)
                     .ipv4(kClient4, kVip4)
                     .frag_offset(10)
                     .ip_proto(IPPROTO_TCP)
                     .payload_size(64)
                     .build();
    Bytes quote = Packet().ipv4(kVip4, kClient4).tcp(80, 1000).build();
    quote.resize(28);
    Bytes error = Packet().eth(kLbMac, kPeerMac).ipv4("198.18.0.254", kVip4).icmp4(3, 4, 1400).payload(quote).build();
    expect_pass(lb, frag, JL_CNT_PASS_NOT_VIP);
    expect_pass(lb, error, JL_CNT_PASS_NOT_VIP);
    lb.filter_add(0, kVip4);
    CHECK(lb.run(frag).verdict == XDP_TX);
    CHECK(lb.run(error).verdict == XDP_TX);
}
