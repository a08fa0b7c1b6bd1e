// Which VIPs a box announces: health per VIP from the plan, and the hold-down.
#include <catch2/catch.hpp>

#include "fleet/announce.h"
#include "plan_test_support.h"

using namespace julier;
using namespace julier::plan_test;
using fleet::Clock;
using fleet::VipState;
using std::chrono::seconds;

namespace {

// web on 198.19.0.1:80 and api on 198.19.0.1:443 share a VIP; dns has its own.
config::Catalogue three_services() {
    auto web = service("web", "198.19.0.1", 80, {backend("198.18.0.21"), backend("198.18.0.22")});
    auto api = service("api", "198.19.0.1", 443, {backend("198.18.0.21"), backend("198.18.0.22")});
    auto dns = service("dns", "198.19.0.2", 53, {backend("198.18.0.23")}, config::Protocol::udp);
    return catalogue({web, api, dns});
}

plan::Plan plan_with_down(const config::Catalogue& c, const std::vector<std::pair<std::string, std::string>>& down) {
    auto runtime = all_resolved(c);
    for (const auto& [svc, addr] : down) runtime.health[svc][ip(addr)].state = julier::health::State::down;
    return plan::make_plan(c, runtime);
}

const fleet::VipHealth& of(const std::vector<fleet::VipHealth>& all, const std::string& vip) {
    for (const auto& v : all)
        if (v.vip == ip(vip)) return v;
    throw std::logic_error("no " + vip);
}

std::vector<fleet::VipHealth> one(const std::string& vip, bool healthy) {
    fleet::VipHealth v;
    v.vip = ip(vip);
    v.healthy = healthy;
    return {v};
}

}  // namespace

TEST_CASE("fleet: a VIP is healthy while every service on it has its minimum of usable backends", "[fleet]") {
    auto c = three_services();
    c.services[1].bgp.min_healthy_backends = 2;  // api needs both

    auto all = fleet::vip_health(c, plan_with_down(c, {}));
    REQUIRE(all.size() == 2);
    CHECK(of(all, "198.19.0.1").healthy);
    CHECK(of(all, "198.19.0.1").services == std::vector<std::string>{"web", "api"});
    CHECK(of(all, "198.19.0.2").healthy);

    // One api backend down: web still has 1 >= 1, but api has 1 < 2.
    all = fleet::vip_health(c, plan_with_down(c, {{"api", "198.18.0.22"}}));
    CHECK_FALSE(of(all, "198.19.0.1").healthy);
    CHECK(of(all, "198.19.0.1").usable == 1);
    CHECK(of(all, "198.19.0.1").needed == 2);
    CHECK(of(all, "198.19.0.2").healthy);

    // A drained backend gets no new flows, so it does not count either.
    c.services[2].backends[0].state = config::BackendState::drain;
    all = fleet::vip_health(c, plan_with_down(c, {}));
    CHECK_FALSE(of(all, "198.19.0.2").healthy);
    CHECK(of(all, "198.19.0.2").usable == 0);
}

TEST_CASE("fleet: a service failing open counts as having no usable backend", "[fleet]") {
    auto c = three_services();
    c.services[2].when_all_down = config::WhenAllDown::keep;
    const auto p = plan_with_down(c, {{"dns", "198.18.0.23"}});
    REQUIRE(p.find("dns")->fail_open);
    CHECK_FALSE(of(fleet::vip_health(c, p), "198.19.0.2").healthy);
}

TEST_CASE("fleet: withdrawal is immediate, announcement waits for the hold-down", "[fleet]") {
    fleet::Announcer a;
    const auto t0 = Clock::time_point{} + seconds(100);
    const auto hold = seconds(30);

    // First sight: healthy is announced at once (a start is not a flap).
    CHECK(a.update(one("198.19.0.1", true), t0, hold));
    CHECK(a.all().at(ip("198.19.0.1")).state == VipState::announced);
    CHECK(a.announced().size() == 1);

    // Unhealthy: out at once.
    CHECK(a.update(one("198.19.0.1", false), t0 + seconds(1), hold));
    CHECK(a.all().at(ip("198.19.0.1")).state == VipState::withdrawn);
    CHECK(a.announced().empty());

    // Healthy again: held down, not announced until 30 s of health.
    CHECK_FALSE(a.update(one("198.19.0.1", true), t0 + seconds(2), hold));
    CHECK(a.all().at(ip("198.19.0.1")).state == VipState::hold_down);
    CHECK(a.all().at(ip("198.19.0.1")).announce_at == t0 + seconds(32));
    CHECK_FALSE(a.update(one("198.19.0.1", true), t0 + seconds(31), hold));
    CHECK(a.announced().empty());

    // A flap during the hold-down starts it over.
    CHECK_FALSE(a.update(one("198.19.0.1", false), t0 + seconds(20), hold));
    CHECK_FALSE(a.update(one("198.19.0.1", true), t0 + seconds(21), hold));
    CHECK_FALSE(a.update(one("198.19.0.1", true), t0 + seconds(50), hold));
    CHECK(a.all().at(ip("198.19.0.1")).state == VipState::hold_down);
    CHECK(a.update(one("198.19.0.1", true), t0 + seconds(51), hold));
    CHECK(a.all().at(ip("198.19.0.1")).state == VipState::announced);
}

TEST_CASE("fleet: unhealthy at first sight waits for the hold-down too and zero hold-down announces at once",
          "[fleet]") {
    fleet::Announcer a;
    const auto t0 = Clock::time_point{} + seconds(100);
    a.update(one("198.19.0.1", false), t0, seconds(5));
    CHECK(a.all().at(ip("198.19.0.1")).state == VipState::withdrawn);
    a.update(one("198.19.0.1", true), t0 + seconds(1), seconds(5));
    CHECK(a.all().at(ip("198.19.0.1")).state == VipState::hold_down);

    fleet::Announcer b;
    b.update(one("198.19.0.1", false), t0, seconds(0));
    CHECK(b.update(one("198.19.0.1", true), t0 + seconds(1), seconds(0)));
    CHECK(b.all().at(ip("198.19.0.1")).state == VipState::announced);
}

TEST_CASE("fleet: withdraw_all empties the announcement and a VIP gone from the catalogue is dropped", "[fleet]") {
    fleet::Announcer a;
    const auto t0 = Clock::time_point{} + seconds(100);
    auto both = one("198.19.0.1", true);
    both.push_back(one("198.19.0.2", true).front());
    a.update(both, t0, seconds(5));
    CHECK(a.announced().size() == 2);
    CHECK(a.update(one("198.19.0.1", true), t0 + seconds(1), seconds(5)));
    CHECK(a.all().size() == 1);
    a.withdraw_all(t0 + seconds(2));
    CHECK(a.announced().empty());
}

TEST_CASE("fleet: a change of backend counts alone does not change the announcement", "[fleet]") {
    fleet::Announcer a;
    const auto t0 = Clock::time_point{} + seconds(100);
    auto v = one("198.19.0.1", true);
    v[0].usable = 3;
    a.update(v, t0, seconds(5));
    v[0].usable = 2;
    CHECK_FALSE(a.update(v, t0 + seconds(1), seconds(5)));
    v[0].med = 20;
    CHECK(a.update(v, t0 + seconds(2), seconds(5)));
}
