// udp_idle_timeout from YAML to jl_vip: a duration, 0s (never) or 1s-1h, default 30s,
// inherited from defaults, located errors, carried by the plan for UDP services only.
#include <catch2/catch.hpp>

#include "config/parse.h"
#include "config_test_support.h"
#include "plan_test_support.h"

using namespace julier;
using config::Severity;
using config::testing::all_text;
using config::testing::expect_located;
using config::testing::lines;
using config::testing::parse;

namespace {

// Two services, UDP and TCP; `defaults` and `dns` lines are put in.
std::string catalogue(const std::vector<std::string>& defaults, const std::vector<std::string>& dns) {
    std::vector<std::string> l{"interfaces: [eth0]"};
    if (!defaults.empty()) {
        l.push_back("defaults:");
        l.insert(l.end(), defaults.begin(), defaults.end());
    }
    l.insert(l.end(), {"services:", "  - name: dns", "    vip: 198.19.0.53", "    port: 53", "    protocol: udp",
                       "    backends: [198.18.0.20]"});
    l.insert(l.end(), dns.begin(), dns.end());
    l.insert(l.end(), {"  - name: web", "    vip: 198.19.0.1", "    port: 80", "    backends: [198.18.0.21]"});
    std::string out;
    for (const auto& line : l) out += line + "\n";
    return out;
}

}  // namespace

TEST_CASE("udp_idle_timeout: absent means 30s, Katran's default", "[config][udp_idle_timeout]") {
    auto r = parse(catalogue({}, {}));
    INFO(all_text(r));
    REQUIRE(r.ok());
    CHECK(r.catalogue->services[0].udp_idle_timeout == std::chrono::seconds(30));
    CHECK(JL_DEFAULT_UDP_IDLE_TIMEOUT_MS == 30000u);
}

TEST_CASE("udp_idle_timeout: per service, from defaults, and 0s for never", "[config][udp_idle_timeout]") {
    auto own = parse(catalogue({}, {"    udp_idle_timeout: 2m"}));
    INFO(all_text(own));
    REQUIRE(own.ok());
    CHECK(own.catalogue->services[0].udp_idle_timeout == std::chrono::minutes(2));
    CHECK(own.catalogue->services[1].udp_idle_timeout == std::chrono::seconds(30));

    auto inherited = parse(catalogue({"  udp_idle_timeout: 10s"}, {}));
    REQUIRE(inherited.ok());
    CHECK(inherited.catalogue->services[0].udp_idle_timeout == std::chrono::seconds(10));
    CHECK(inherited.catalogue->services[1].udp_idle_timeout == std::chrono::seconds(10));

    auto overridden = parse(catalogue({"  udp_idle_timeout: 10s"}, {"    udp_idle_timeout: 1s"}));
    REQUIRE(overridden.ok());
    CHECK(overridden.catalogue->services[0].udp_idle_timeout == std::chrono::seconds(1));
    CHECK(overridden.catalogue->services[1].udp_idle_timeout == std::chrono::seconds(10));

    auto never = parse(catalogue({}, {"    udp_idle_timeout: 0s"}));
    REQUIRE(never.ok());
    CHECK(never.catalogue->services[0].udp_idle_timeout.count() == 0);

    auto longest = parse(catalogue({}, {"    udp_idle_timeout: 1h"}));
    REQUIRE(longest.ok());
    CHECK(longest.catalogue->services[0].udp_idle_timeout == std::chrono::hours(1));
}

TEST_CASE("udp_idle_timeout: wrong values name file, line, column, field and bounds", "[config][udp_idle_timeout]") {
    // The dns service's own lines start at line 8 (no defaults).
    auto shorter = parse(catalogue({}, {"    udp_idle_timeout: 500ms"}));
    CHECK_FALSE(shorter.ok());
    expect_located(shorter, "services[0].udp_idle_timeout", Severity::error, 8, 23,
                   "500ms is shorter than 1s (allowed: 0s for never, or 1s to 1h: a busy flow's last-seen time is "
                   "refreshed only every 250ms)");

    auto longer = parse(catalogue({}, {"    udp_idle_timeout: 61m"}));
    CHECK_FALSE(longer.ok());
    expect_located(longer, "services[0].udp_idle_timeout", Severity::error, 8, 23,
                   "61m is out of range (allowed: 0s to 1h)");

    auto text = parse(catalogue({}, {"    udp_idle_timeout: 30"}));
    CHECK_FALSE(text.ok());
    expect_located(text, "services[0].udp_idle_timeout", Severity::error, 8, 23);

    // In defaults: the error is reported where it is written, once.
    auto in_defaults = parse(catalogue({"  udp_idle_timeout: 999ms"}, {}));
    CHECK_FALSE(in_defaults.ok());
    expect_located(in_defaults, "defaults.udp_idle_timeout", Severity::error, 3, 21);
}

TEST_CASE("udp_idle_timeout: the plan writes it into jl_vip of UDP services only", "[plan][udp_idle_timeout]") {
    auto dns = plan_test::service("dns", "198.19.0.53", 53, {plan_test::backend("198.18.0.20")}, config::Protocol::udp);
    dns.udp_idle_timeout = std::chrono::seconds(45);
    auto web = plan_test::service("web", "198.19.0.1", 80, {plan_test::backend("198.18.0.21")});
    web.udp_idle_timeout = std::chrono::seconds(45);
    auto cat = plan_test::catalogue({dns, web});
    auto p = plan::make_plan(cat, plan_test::all_resolved(cat));
    REQUIRE(p.find("dns"));
    REQUIRE(p.find("web"));
    CHECK(p.find("dns")->vip.udp_idle_timeout_ms == 45000u);
    CHECK(p.find("web")->vip.udp_idle_timeout_ms == 0u);  // TCP: the forwarder does not read it

    dns.udp_idle_timeout = std::chrono::milliseconds(0);
    auto never = plan_test::catalogue({dns});
    CHECK(plan::make_plan(never, plan_test::all_resolved(never)).find("dns")->vip.udp_idle_timeout_ms == 0u);
}
