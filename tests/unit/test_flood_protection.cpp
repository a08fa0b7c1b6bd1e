// flood_protection from YAML to the forwarder's jl_settings: parsed and range-checked
// with file:line:col, defaulted, carried by the plan, written to the side being
// prepared only when it differs, applied on reload, summarised for --check.
#include <catch2/catch.hpp>

#include "config/parse.h"
#include "config/summary.h"
#include "config_test_support.h"
#include "daemon/reload.h"
#include "dataplane/side_image.h"
#include "plan_test_support.h"

using namespace julier;
using config::Severity;
using config::testing::all_text;
using config::testing::lines;
using config::testing::only;
using config::testing::parse;

namespace {

std::string with_flood(const char* flood_lines) {
    return std::string(flood_lines) + lines({
                                          "interfaces: [eth0]",
                                          "services:",
                                          "  - name: web",
                                          "    vip: 198.19.0.1",
                                          "    port: 80",
                                          "    backends: [198.18.0.20]",
                                      });
}

dataplane::Limits small_limits() {
    dataplane::Limits l;
    l.max_services = 16;
    l.max_backends = 64;
    l.ring_capacity = 4096;
    l.max_flows = 1024;
    return l;
}

plan::Plan plan_with_rate(std::uint32_t rate) {
    auto cat = plan_test::catalogue({plan_test::service("web", "198.19.0.1", 80, {plan_test::backend("198.18.0.20")})});
    cat.flood_protection.new_flow_rate_per_cpu = rate;
    return plan::make_plan(cat, plan_test::all_resolved(cat));
}

}  // namespace

TEST_CASE("flood_protection: absent means the default rate", "[config][flood]") {
    auto r = parse(with_flood(""));
    INFO(all_text(r));
    REQUIRE(r.ok());
    CHECK(r.catalogue->flood_protection.new_flow_rate_per_cpu == JL_DEFAULT_FLOOD_NEW_FLOW_RATE);
    CHECK(JL_DEFAULT_FLOOD_NEW_FLOW_RATE == 125000u);
}

TEST_CASE("flood_protection: a rate, and 0 for off", "[config][flood]") {
    auto r = parse(with_flood("flood_protection: {new_flow_rate_per_cpu: 5000}\n"));
    INFO(all_text(r));
    REQUIRE(r.ok());
    CHECK(r.diagnostics.empty());
    CHECK(r.catalogue->flood_protection.new_flow_rate_per_cpu == 5000u);
    CHECK(r.catalogue->flood_protection.location.line == 1);
    CHECK(r.catalogue->flood_protection.location.column == 43);

    auto off = parse(with_flood("flood_protection:\n  new_flow_rate_per_cpu: 0\n"));
    REQUIRE(off.ok());
    CHECK(off.catalogue->flood_protection.new_flow_rate_per_cpu == 0u);
}

TEST_CASE("flood_protection: wrong values name file, line, column, field and range", "[config][flood]") {
    auto big = parse(with_flood("flood_protection:\n  new_flow_rate_per_cpu: 100000001\n"));
    CHECK_FALSE(big.ok());
    CHECK(only(big, "flood_protection.new_flow_rate_per_cpu").to_string() ==
          "t.yaml:2:26: error: flood_protection.new_flow_rate_per_cpu: 100000001 is out of range "
          "(allowed: 0-100000000)");

    auto negative = parse(with_flood("flood_protection:\n  new_flow_rate_per_cpu: -1\n"));
    CHECK_FALSE(negative.ok());
    CHECK(only(negative, "flood_protection.new_flow_rate_per_cpu").location.line == 2);

    auto text = parse(with_flood("flood_protection:\n  new_flow_rate_per_cpu: lots\n"));
    CHECK_FALSE(text.ok());
    CHECK(only(text, "flood_protection.new_flow_rate_per_cpu").severity == Severity::error);

    auto unknown = parse(with_flood("flood_protection:\n  new_flows_per_cpu: 10\n"));
    CHECK_FALSE(unknown.ok());
    auto d = only(unknown, "flood_protection.new_flows_per_cpu");
    CHECK(d.location.line == 2);
    CHECK_THAT(d.message, Catch::Contains("new_flow_rate_per_cpu"));

    auto scalar = parse(with_flood("flood_protection: 10\n"));
    CHECK_FALSE(scalar.ok());
    CHECK(only(scalar, "flood_protection").location.line == 1);
}

TEST_CASE("flood_protection: the plan carries the rate as jl_settings", "[plan][flood]") {
    CHECK(plan_with_rate(7000).settings.flood_new_flow_rate == 7000u);
    CHECK(plan_with_rate(0).settings.flood_new_flow_rate == 0u);
    CHECK_FALSE(plan_with_rate(7000) == plan_with_rate(7001));  // a change is applied

    auto d = plan::diff(plan_with_rate(7000), plan_with_rate(0));
    CHECK_FALSE(d.empty());
    REQUIRE(d.flood_new_flow_rate);
    CHECK(d.flood_new_flow_rate->first == 7000u);
    CHECK(d.flood_new_flow_rate->second == 0u);
    CHECK(plan::diff(plan_with_rate(7000), plan_with_rate(7000)).empty());
}

TEST_CASE("flood_protection: jl_settings is written to the prepared side when it differs", "[dataplane][flood]") {
    const auto limits = small_limits();
    dataplane::SideImage fresh;  // nothing known about the side: written
    auto first = dataplane::plan_side_writes(fresh, plan_with_rate(7000), 1, limits);
    REQUIRE(first.settings_write);
    CHECK(first.settings_write->flood_new_flow_rate == 7000u);
    REQUIRE(first.result.settings);
    CHECK(first.result.settings->flood_new_flow_rate == 7000u);

    // The same rate again: nothing to write, and a plan with no other change is empty.
    auto again = dataplane::plan_side_writes(first.result, plan_with_rate(7000), 1, limits);
    CHECK_FALSE(again.settings_write);
    CHECK(again.empty());

    // Only the rate changed: exactly that one write.
    auto changed = dataplane::plan_side_writes(first.result, plan_with_rate(0), 1, limits);
    REQUIRE(changed.settings_write);
    CHECK(changed.settings_write->flood_new_flow_rate == 0u);
    CHECK(changed.vip_updates.empty());
    CHECK(changed.backend_writes.empty());
    CHECK(changed.ring_slots() == 0);
    CHECK(changed.filter_writes.empty());
    CHECK_FALSE(changed.empty());
}

TEST_CASE("flood_protection: a reload applies a new rate without a restart", "[daemon][reload][flood]") {
    auto running = parse(with_flood("flood_protection: {new_flow_rate_per_cpu: 5000}\n"));
    auto next = parse(with_flood("flood_protection: {new_flow_rate_per_cpu: 0}\n"));
    REQUIRE(running.ok());
    REQUIRE(next.ok());
    auto decision = daemon::decide_reload(*running.catalogue, next);
    REQUIRE(decision.catalogue);
    CHECK(decision.warnings.empty());
    CHECK(decision.catalogue->flood_protection.new_flow_rate_per_cpu == 0u);
}

TEST_CASE("flood_protection: --check shows the rate and the table's shortest turnover", "[config][flood]") {
    auto r = parse(with_flood("flood_protection: {new_flow_rate_per_cpu: 1000}\nlimits: {max_flows: 8000}\n"));
    INFO(all_text(r));
    REQUIRE(r.ok());
    const std::string text = config::summarize(*r.catalogue, 2);
    CHECK_THAT(text, Catch::Contains("flood protection: 1000 new flows/s per CPU (2000/s on 2 CPUs)"));
    CHECK_THAT(text, Catch::Contains("turns over in no less than 4.0 s"));
    CHECK_THAT(text, Catch::Contains("jl_flood_window"));

    auto off = parse(with_flood("flood_protection: {new_flow_rate_per_cpu: 0}\n"));
    REQUIRE(off.ok());
    CHECK_THAT(config::summarize(*off.catalogue, 2), Catch::Contains("flood protection: off"));
}

TEST_CASE("icmp_answers: the rate is read, bounded, planned into jl_settings and shown by --check", "[config][icmp]") {
    auto dflt = parse(with_flood(""));
    REQUIRE(dflt.ok());
    CHECK(dflt.catalogue->icmp_answers.rate_per_cpu == JL_DEFAULT_ICMP_ANSWER_RATE);
    CHECK_THAT(config::summarize(*dflt.catalogue, 2), Catch::Contains("ICMP answers: at most 1000/s per CPU"));

    auto set = parse(with_flood("icmp_answers: {rate_per_cpu: 50}\n"));
    INFO(all_text(set));
    REQUIRE(set.ok());
    CHECK(set.catalogue->icmp_answers.rate_per_cpu == 50u);
    CHECK(plan::make_plan(*set.catalogue, plan_test::all_resolved(*set.catalogue)).settings.icmp_answer_rate == 50u);
    CHECK_THAT(config::summarize(*set.catalogue, 2), Catch::Contains("ICMP answers: at most 50/s per CPU"));

    auto off = parse(with_flood("icmp_answers: {rate_per_cpu: 0}\n"));
    REQUIRE(off.ok());
    CHECK_THAT(config::summarize(*off.catalogue, 2), Catch::Contains("ICMP answers: no rate limit"));

    auto bad = parse(with_flood("icmp_answers: {rate_per_cpu: -1, per_second: 3}\n"));
    CHECK_FALSE(bad.ok());
    CHECK(bad.errors() == 2);
}
