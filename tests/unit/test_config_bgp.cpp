// The `bgp:` section and the per-service `bgp:` fields.
#include <catch2/catch.hpp>

#include "config/summary.h"
#include "config_test_support.h"

using namespace julier::config;
using namespace julier::config::testing;

namespace {

std::string with_bgp(std::initializer_list<const char*> bgp_lines, const char* service_bgp = nullptr) {
    std::string text = lines({"interfaces: [eth0]"});
    for (const char* l : bgp_lines) text += std::string(l) + "\n";
    text += lines({"services:", "  - name: web", "    vip: 198.19.0.1", "    port: 80",
                   "    backends: [198.18.0.21, 198.18.0.22]"});
    if (service_bgp) text += std::string("    bgp: ") + service_bgp + "\n";
    return text;
}

}  // namespace

TEST_CASE("bgp: every field read, defaults where unset", "[config]") {
    const auto r = parse(with_bgp(
        {"bgp:", "  bird_include: /etc/bird/julier.conf", "  bird_socket: /run/bird/b.ctl", "  local_as: 4200000001",
         "  router_id: 198.18.0.2", "  hold_down: 45s", "  withdraw_on_stop: true", "  neighbours:",
         "    - {address: 198.18.0.1, as: 65000, hold_time: 9s}", "    - {address: \"2001:db8::1\", as: 65000}"},
        "{communities: [\"65000:100\", \"65000:1:2\"], med: 7, min_healthy_backends: 2}"));
    INFO(all_text(r));
    REQUIRE(r.ok());
    REQUIRE(r.catalogue->bgp);
    const Bgp& b = *r.catalogue->bgp;
    CHECK(b.bird_include == "/etc/bird/julier.conf");
    CHECK(b.bird_socket == "/run/bird/b.ctl");
    CHECK(b.local_as == 4200000001u);
    CHECK(b.router_id == julier::common::IpAddress::parse("198.18.0.2"));
    CHECK(b.hold_down == Duration{45000});
    CHECK(b.withdraw_on_stop);
    REQUIRE(b.neighbours.size() == 2);
    CHECK(b.neighbours[0].as == 65000);
    CHECK(b.neighbours[0].hold_time == Duration{9000});
    CHECK_FALSE(b.neighbours[1].hold_time);
    const ServiceBgp& s = r.catalogue->services[0].bgp;
    CHECK(s.med == 7u);
    CHECK(s.min_healthy_backends == 2);
    REQUIRE(s.communities.size() == 2);
    CHECK(s.communities[0].parts == std::vector<std::uint32_t>{65000, 100});
    CHECK(s.communities[1].text == "65000:1:2");

    const auto plain = parse(with_bgp({}));
    REQUIRE(plain.ok());
    CHECK_FALSE(plain.catalogue->bgp);
    CHECK(plain.catalogue->services[0].bgp.min_healthy_backends == 1);

    const auto empty = parse(with_bgp({"bgp:"}));
    INFO(all_text(empty));
    REQUIRE(empty.ok());
    REQUIRE(empty.catalogue->bgp);
    CHECK(empty.catalogue->bgp->hold_down == Duration{30000});
    CHECK(empty.catalogue->bgp->bird_include == "/run/bird/julier.conf");
}

TEST_CASE("bgp: mistakes are located and explained", "[config]") {
    SECTION("unknown key with a suggestion") {
        expect_located(parse(with_bgp({"bgp:", "  local_as: 65001", "  neighbors: []"})), "bgp.neighbors",
                       Severity::error, 4, 3, "unknown key 'neighbors' (did you mean 'neighbours'?)");
    }
    SECTION("neighbours need a local AS") {
        const auto d =
            only(parse(with_bgp({"bgp:", "  neighbours: [{address: 198.18.0.1, as: 65000}]"})), "bgp.local_as");
        CHECK(d.severity == Severity::error);
        CHECK(d.message.find("local AS") != std::string::npos);
    }
    SECTION("a neighbour without its AS") {
        expect_located(parse(with_bgp({"bgp:", "  local_as: 65001", "  neighbours:", "    - {address: 198.18.0.1}"})),
                       "bgp.neighbours[0].as", Severity::error, 5, 7, "missing (every neighbour needs address and as)");
    }
    SECTION("a neighbour listed twice") {
        const auto d =
            only(parse(with_bgp({"bgp:", "  local_as: 65001", "  neighbours:", "    - {address: 198.18.0.1, as: 65000}",
                                 "    - {address: 198.18.0.1, as: 65002}"})),
                 "bgp.neighbours[1].address");
        CHECK(d.message.find("listed twice") != std::string::npos);
    }
    SECTION("hold time below BGP's minimum or not whole seconds") {
        auto r = parse(
            with_bgp({"bgp:", "  local_as: 65001", "  neighbours: [{address: 198.18.0.1, as: 1, hold_time: 2s}]"}));
        CHECK(r.errors() == 1);
        r = parse(
            with_bgp({"bgp:", "  local_as: 65001", "  neighbours: [{address: 198.18.0.1, as: 1, hold_time: 3500ms}]"}));
        CHECK(only(r, "bgp.neighbours[0].hold_time").message.find("whole seconds") != std::string::npos);
    }
    SECTION("router id must be IPv4, AS in range, paths absolute") {
        const auto r =
            parse(with_bgp({"bgp:", "  router_id: \"2001:db8::2\"", "  local_as: 0", "  bird_socket: bird.ctl"}));
        CHECK(r.errors() == 3);
        CHECK(only(r, "bgp.bird_socket").message.find("absolute") != std::string::npos);
    }
    SECTION("a bad community") {
        const auto r = parse(with_bgp({"bgp:"}, "{communities: [\"65000:70000\"]}"));
        const auto d = expect_located(r, "services[0].bgp.communities[0]", Severity::error, 8, 25);
        CHECK(d.message.find("0-65535") != std::string::npos);
    }
    SECTION("a minimum the service can never reach warns") {
        const auto r = parse(with_bgp({"bgp:"}, "{min_healthy_backends: 3}"));
        CHECK(r.ok());
        const auto d = only(r, "services[0].bgp.min_healthy_backends");
        CHECK(d.severity == Severity::warning);
        CHECK(d.message.find("never announced") != std::string::npos);
    }
}

TEST_CASE("bgp: services on one VIP must agree on its route's attributes and defaults apply to all", "[config]") {
    const auto text = lines(
        {"interfaces: [eth0]", "bgp:", "defaults:", "  bgp: {med: 5, min_healthy_backends: 2}",
         "services:", "  - {name: web, vip: 198.19.0.1, port: 80, backends: [198.18.0.21, 198.18.0.22]}",
         "  - {name: tls, vip: 198.19.0.1, port: 443, backends: [198.18.0.21, 198.18.0.22],", "     bgp: {med: 6}}"});
    const auto r = parse(text);
    const auto d = only(r, "services[1].bgp");
    CHECK(d.severity == Severity::error);
    CHECK(d.message.find("service 'web'") != std::string::npos);

    const auto ok =
        parse(lines({"interfaces: [eth0]", "bgp:", "defaults:", "  bgp: {med: 5, min_healthy_backends: 2}",
                     "services:", "  - {name: web, vip: 198.19.0.1, port: 80, backends: [198.18.0.21, 198.18.0.22]}"}));
    INFO(all_text(ok));
    REQUIRE(ok.ok());
    CHECK(ok.catalogue->services[0].bgp.med == 5u);
    CHECK(ok.catalogue->services[0].bgp.min_healthy_backends == 2);
}

TEST_CASE("bgp: --check's summary names the AS, neighbours, hold-down and BIRD's files", "[config]") {
    const auto r = parse(with_bgp(
        {"bgp:", "  local_as: 65001", "  hold_down: 90s", "  neighbours: [{address: 198.18.0.1, as: 65000}]"}));
    REQUIRE(r.ok());
    const auto text = summarize(*r.catalogue, 2);
    INFO(text);
    CHECK(text.find("bgp: AS 65001, 1 neighbour, hold-down 1m30s, include /run/bird/julier.conf "
                    "(BIRD at /run/bird/bird.ctl)\n") != std::string::npos);
    CHECK(summarize(*parse(with_bgp({})).catalogue, 2).find("bgp:") == std::string::npos);
}
