// flood_protection through the dataplane edge: the rate travels with the plan into
// jl_settings of the side being written and goes live with the flip; a changed rate
// (a reload) applies without reloading the forwarder; an adopting dataplane reads
// the side's rate back; pins of an older ABI version are refused.
#include <bpf/bpf.h>

#include <catch2/catch.hpp>

#include "cpu_pin.h"
#include "dataplane_support.h"
#include "plan_test_support.h"

using namespace julier;
using namespace julier::integration;
using namespace julier::plan_test;
using dataplane::Dataplane;

namespace {

constexpr const char* kVip = "198.19.0.1";

plan::Plan web_plan(std::uint32_t rate) {
    auto cat = catalogue({service("web", kVip, 80, {backend("198.18.0.20"), backend("198.18.0.21")})});
    cat.limits.max_services = 16;
    cat.limits.max_backends = 64;
    cat.limits.ring_capacity = 1u << 18;
    cat.flood_protection.new_flow_rate_per_cpu = rate;
    return plan::make_plan(cat, all_resolved(cat));
}

// SYNs from sports [first, first + count): how many the forwarder remembered. Every
// one must be forwarded.
int remembered(const Dataplane& dp, std::uint16_t first, std::uint16_t count) {
    int n = 0;
    for (std::uint16_t sport = first; sport < first + count; ++sport) {
        REQUIRE(run_packet(dp.program_fd(), syn(kVip, 80, sport)).action == XDP_TX);
        n += dp.lookup_flow(flow_key(kVip, 80, sport)).has_value();
    }
    return n;
}

}  // namespace

TEST_CASE("the flood rate goes live with the generation and changes on reload", "[dataplane][integration][flood]") {
    JULIER_SKIP_UNLESS_ROOT();
    test::PinnedCpu cpu;  // one CPU, one flood window
    PinDir pins;
    {
        auto dp = Dataplane::open(options_for(pins));
        dp->apply(web_plan(3));
        CHECK(remembered(*dp, 1000, 5) == 3);
        CHECK(dp->read_counters().reasons[JL_CNT_TX_FORWARD_FLOOD].packets == 2);

        // A reload that only turns the limit off: one more generation, every flow kept.
        auto r = dp->apply(web_plan(0));
        CHECK(r.generation == 2);
        CHECK(r.services_written == 1);  // the fresh side 0 gets everything once
        CHECK(remembered(*dp, 2000, 20) == 20);
        // Another rate on the side written first: only jl_settings changes there.
        r = dp->apply(web_plan(5));
        CHECK(r.generation == 3);
        CHECK(r.services_written == 0);
        CHECK(r.backends_written == 0);
        CHECK(r.ring_slots_written == 0);
        // At most 5 per window (a window may end in between, hence not exactly 5).
        CHECK(remembered(*dp, 3000, 10) < 10);
    }
    // A restarted daemon adopts the pins and reads each side's rate back.
    auto dp = Dataplane::open(options_for(pins));
    REQUIRE(dp->adopted());
    CHECK(dp->read_counters().reasons[JL_CNT_TX_FORWARD_FLOOD].packets >= 3);
    dp->apply(web_plan(0));
    CHECK(remembered(*dp, 4000, 20) == 20);
}

TEST_CASE("pins of an older ABI version (without this build's maps) are refused", "[dataplane][integration][flood]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    pin_forwarder(pins);
    set_pinned_abi_version(pins, JL_ABI_VERSION - 1);
    CHECK_THROWS_WITH(Dataplane::open(options_for(pins)),
                      Catch::Contains("it has ABI version " + std::to_string(JL_ABI_VERSION - 1) +
                                      " and this julierd has ABI version " + std::to_string(JL_ABI_VERSION)) &&
                          Catch::Contains("rm -r " + pins.path()));
}
