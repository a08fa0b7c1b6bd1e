// New-flow flood protection (docs/dataplane.md, "Flood protection"): each CPU writes
// at most jl_settings.flood_new_flow_rate flows per second into jl_flows; further new
// flows go to their Maglev backend, are not remembered and are counted as
// forward_flood. Rate 0 (or a side never written) turns it off; the window refills
// after a second; each side carries its own rate, switched by the jl_active flip.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "cpu_pin.h"
#include "lb_fixture.h"

using namespace julier::test;
using namespace julier::test::lbfix;

namespace {

Bytes syn(std::string_view client, std::string_view vip, uint16_t sport) {
    return tcp_frame(client, vip, sport, kTcpSyn);
}
// Established: follows its entry (a SYN is placed by the ring and writes).
Bytes ack(std::string_view client, std::string_view vip, uint16_t sport) {
    return tcp_frame(client, vip, sport, kTcpAck);
}

Bytes to_backend(const Bytes& in, uint32_t id) {
    Bytes out = in;
    const Mac dst = backend_mac(id);
    std::copy(dst.begin(), dst.end(), out.begin());
    std::copy(kLbMac.begin(), kLbMac.end(), out.begin() + 6);
    return out;
}

uint32_t owner(const ServiceSpec& s, std::string_view client, uint16_t sport) {
    return pick(s, ref_flow_hash(client, s.vip, sport, 80, IPPROTO_TCP));
}

jl_flow_key key(const ServiceSpec& s, std::string_view client, uint16_t sport) {
    return flow_key(client, s.vip, sport, 80, IPPROTO_TCP);
}

// A new flow that must be remembered with its Maglev backend.
void expect_remembered(LbHarness& lb, const ServiceSpec& s, std::string_view client, uint16_t sport) {
    INFO("flow from port " << sport << " is remembered");
    Bytes in = syn(client, s.vip, sport);
    uint32_t id = owner(s, client, sport);
    expect_run(lb, in, XDP_TX, to_backend(in, id), JL_CNT_TX_FORWARD);
    auto flow = lb.flow(key(s, client, sport));
    REQUIRE(flow);
    CHECK(flow->backend_id == id);
}

// A new flow over the rate: its Maglev backend, no entry, counted forward_flood.
void expect_flood(LbHarness& lb, const ServiceSpec& s, std::string_view client, uint16_t sport) {
    INFO("flow from port " << sport << " is forwarded unremembered");
    Bytes in = syn(client, s.vip, sport);
    expect_run(lb, in, XDP_TX, to_backend(in, owner(s, client, sport)), JL_CNT_TX_FORWARD_FLOOD);
    CHECK_FALSE(lb.flow(key(s, client, sport)));
}

ServiceSpec service_for(std::string_view client) {
    ServiceSpec s;
    s.vip = is_v6(client) ? kVip6 : kVip4;
    s.slots = 13;
    return s;
}

}  // namespace

TEST_CASE("lb flood: under the rate every new flow is remembered", "[lb][flood]") {
    PinnedCpu cpu;
    LbHarness lb;
    ServiceSpec s = service_for(kClient4);
    install(lb, s);
    lb.set_flood_rate(0, 8);
    for (uint16_t sport = 1000; sport < 1008; sport++) expect_remembered(lb, s, kClient4, sport);
    CHECK(lb.service_stats(s.service_id).new_flows == 8);
    CHECK(lb.flood_windows()[cpu.cpu()].remembered == 8);
    CHECK(lb.counter(JL_CNT_TX_FORWARD_FLOOD).packets == 0);
}

TEST_CASE("lb flood: over the rate new flows reach their Maglev backend, unremembered and counted", "[lb][flood]") {
    for (const char* client : {kClient4, kClient6}) {
        DYNAMIC_SECTION(client) {
            PinnedCpu cpu;
            LbHarness lb;
            ServiceSpec s = service_for(client);
            install(lb, s);
            lb.set_flood_rate(0, 3);
            for (uint16_t sport = 2000; sport < 2003; sport++) expect_remembered(lb, s, client, sport);
            for (uint16_t sport = 2003; sport < 2010; sport++) expect_flood(lb, s, client, sport);
            CHECK(lb.counter(JL_CNT_TX_FORWARD_FLOOD).packets == 7);
            CHECK(lb.service_stats(s.service_id).new_flows == 3);
            CHECK(lb.service_stats(s.service_id).packets == 10);

            // Established flows still find their entries and spend nothing.
            for (uint16_t sport = 2000; sport < 2003; sport++) {
                Bytes in = ack(client, s.vip, sport);
                expect_run(lb, in, XDP_TX, to_backend(in, owner(s, client, sport)), JL_CNT_TX_FORWARD);
            }
            // An unremembered flow keeps reaching the same backend while the ring holds.
            expect_flood(lb, s, client, 2005);
            CHECK(lb.flood_windows()[cpu.cpu()].remembered == 3);
        }
    }
}

TEST_CASE("lb flood: over the rate, a flow leaving by another device counts as redirect forward_flood", "[lb][flood]") {
    PinnedCpu cpu;
    LbHarness lb;
    ServiceSpec s = service_for(kClient4);
    s.ifindex = 7;
    s.src_mac = kEgressMac;
    install(lb, s);
    lb.set_flood_rate(0, 1);
    Bytes first = syn(kClient4, s.vip, 3000);
    XdpResult r = lb.run(first);
    CHECK(r.verdict == XDP_REDIRECT);
    CHECK(lb.counter(JL_CNT_REDIRECT_FORWARD).packets == 1);
    Bytes second = syn(kClient4, s.vip, 3001);
    auto before = lb.counters();
    r = lb.run(second);
    auto after = lb.counters();
    CHECK(r.verdict == XDP_REDIRECT);
    CHECK(std::equal(r.data.begin(), r.data.begin() + 6, backend_mac(owner(s, kClient4, 3001)).begin()));
    for (uint32_t c = 0; c < JL_CNT_COUNT; c++) {
        INFO(counter_name(static_cast<jl_counter>(c)));
        CHECK(after[c].packets - before[c].packets == (c == JL_CNT_REDIRECT_FORWARD_FLOOD ? 1u : 0u));
    }
    CHECK_FALSE(lb.flow(key(s, kClient4, 3001)));
}

TEST_CASE("lb flood: during a flood established flows keep their backend across a ring change", "[lb][flood]") {
    PinnedCpu cpu;
    LbHarness lb;
    ServiceSpec s0 = service_for(kClient4);
    install(lb, s0);
    lb.set_flood_rate(0, 2);
    lb.set_flood_rate(1, 2);
    expect_remembered(lb, s0, kClient4, 4000);
    expect_remembered(lb, s0, kClient4, 4001);
    expect_flood(lb, s0, kClient4, 4002);

    // The next generation: a ring of other backends; the old owners stay backends.
    ServiceSpec s1 = s0;
    s1.side = 1;
    s1.first_backend = 40;
    s1.slots = 5;
    install(lb, s1);
    for (uint16_t sport : {4000, 4001}) {
        uint32_t id = owner(s0, kClient4, sport);
        lb.put_backend(1, id, backend_value(s0, id));
    }
    lb.set_active(1);
    for (uint16_t sport : {4000, 4001}) {
        Bytes in = ack(kClient4, s0.vip, sport);
        expect_run(lb, in, XDP_TX, to_backend(in, owner(s0, kClient4, sport)), JL_CNT_TX_FORWARD);
    }
    // The unremembered flow follows the new ring: the price of not remembering it.
    expect_flood(lb, s1, kClient4, 4002);
}

TEST_CASE("lb flood: rate 0, or a side never written, remembers every flow", "[lb][flood]") {
    for (bool written : {true, false}) {
        DYNAMIC_SECTION((written ? "rate 0 written" : "jl_settings never written")) {
            PinnedCpu cpu;
            LbHarness lb;
            ServiceSpec s = service_for(kClient4);
            install(lb, s);
            if (written) lb.set_flood_rate(0, 0);
            for (uint16_t sport = 5000; sport < 5200; sport++) {
                lb.run(syn(kClient4, s.vip, sport));
            }
            CHECK(lb.counter(JL_CNT_TX_FORWARD).packets == 200);
            CHECK(lb.counter(JL_CNT_TX_FORWARD_FLOOD).packets == 0);
            CHECK(lb.flow_keys().size() == 200);
            CHECK(lb.flood_windows()[cpu.cpu()].remembered == 0);  // not even counted
        }
    }
}

TEST_CASE("lb flood: the window refills after a second", "[lb][flood]") {
    PinnedCpu cpu;
    LbHarness lb;
    ServiceSpec s = service_for(kClient4);
    install(lb, s);
    lb.set_flood_rate(0, 2);
    expect_remembered(lb, s, kClient4, 6000);
    expect_remembered(lb, s, kClient4, 6001);
    expect_flood(lb, s, kClient4, 6002);

    SECTION("a window that ended") {
        lb.expire_flood_windows();
        expect_remembered(lb, s, kClient4, 6003);
        expect_remembered(lb, s, kClient4, 6004);
        expect_flood(lb, s, kClient4, 6005);
    }
    SECTION("a real second later") {
        std::this_thread::sleep_for(std::chrono::milliseconds(1050));
        // The flow refused before is remembered now, with the same backend.
        expect_remembered(lb, s, kClient4, 6002);
        expect_remembered(lb, s, kClient4, 6006);
        expect_flood(lb, s, kClient4, 6007);
    }
}

TEST_CASE("lb flood: each side has its own rate, switched with the generation", "[lb][flood]") {
    PinnedCpu cpu;
    LbHarness lb;
    ServiceSpec s0 = service_for(kClient4);
    ServiceSpec s1 = s0;
    s1.side = 1;
    install(lb, s0);
    install(lb, s1);
    lb.set_flood_rate(0, 0);
    lb.set_flood_rate(1, 1);
    for (uint16_t sport = 7000; sport < 7005; sport++) expect_remembered(lb, s0, kClient4, sport);
    lb.set_active(1);
    expect_remembered(lb, s1, kClient4, 7005);
    expect_flood(lb, s1, kClient4, 7006);
    lb.set_active(2);
    expect_remembered(lb, s0, kClient4, 7007);
}
