// What a reload changes (plan/diff.h): services, backends, settings, the share of
// each ring that moves, and the VIPs announced or withdrawn, from two catalogues
// and their plans.
#include <algorithm>
#include <set>

#include <catch2/catch.hpp>

#include "fleet/announce.h"
#include "plan/diff.h"
#include "plan_test_support.h"

using namespace julier;
using namespace julier::plan_test;
using Kind = plan::Change::Kind;

namespace {

constexpr std::uint32_t kRing = 1009;  // prime; large enough for Maglev's shares to settle

config::Catalogue web(std::vector<config::Backend> backends) {
    auto s = service("web", "198.19.0.1", 80, std::move(backends));
    s.ring_size = kRing;
    return catalogue({s});
}

config::Catalogue four_backends() {
    return web(
        {backend("198.18.1.1", 1), backend("198.18.1.2", 1), backend("198.18.1.3", 1), backend("198.18.1.4", 1)});
}

struct Compared {
    config::Catalogue before;
    config::Catalogue after;
    plan::Plan old_plan;
    plan::Plan new_plan;
    std::vector<plan::Change> changes;
};

// Plans `before`, then `after` from the first plan (as a reload does), and compares.
Compared compare(config::Catalogue before, config::Catalogue after,
                 std::vector<common::IpAddress> announced_before = {},
                 std::vector<common::IpAddress> announced_after = {}) {
    Compared c{std::move(before), std::move(after), {}, {}, {}};
    c.old_plan = plan::make_plan(c.before, all_resolved(c.before));
    c.new_plan = plan::make_plan(c.after, all_resolved(c.after), c.old_plan);
    c.changes = plan::changes({c.before, c.old_plan, std::move(announced_before)},
                              {c.after, c.new_plan, std::move(announced_after)});
    return c;
}

std::vector<plan::Change> of_kind(const std::vector<plan::Change>& all, Kind kind) {
    std::vector<plan::Change> out;
    std::copy_if(all.begin(), all.end(), std::back_inserter(out),
                 [&](const plan::Change& c) { return c.kind == kind; });
    return out;
}

// The backend address of each slot, looked up here by id.
std::vector<std::string> slot_addresses(const plan::PlannedService& s) {
    std::vector<std::string> out;
    for (std::uint32_t id : s.ring) {
        for (const auto& b : s.backends) {
            if (b.id == id) out.push_back(b.address.to_string());
        }
    }
    return out;
}

}  // namespace

TEST_CASE("reload diff: the same catalogue changes nothing", "[plan][diff]") {
    const auto c = compare(four_backends(), four_backends(), {ip("198.19.0.1")}, {ip("198.19.0.1")});
    CHECK(c.changes.empty());
}

TEST_CASE("reload diff: removing one of four equal backends moves about a quarter of the ring", "[plan][diff]") {
    auto after = four_backends();
    after.services[0].backends.pop_back();  // 198.18.1.4
    const auto c = compare(four_backends(), after);

    const auto removed = of_kind(c.changes, Kind::backend_removed);
    REQUIRE(removed.size() == 1);
    CHECK(removed[0].service == "web");
    CHECK(removed[0].backend == "198.18.1.4");

    const auto rings = of_kind(c.changes, Kind::ring_moved);
    REQUIRE(rings.size() == 1);
    const auto old_slots = slot_addresses(*c.old_plan.find("web"));
    const auto new_slots = slot_addresses(*c.new_plan.find("web"));
    REQUIRE(old_slots.size() == kRing);
    REQUIRE(new_slots.size() == kRing);
    std::size_t differ = 0;
    std::size_t of_removed = 0;
    for (std::size_t i = 0; i < kRing; ++i) {
        differ += old_slots[i] != new_slots[i] ? 1 : 0;
        of_removed += old_slots[i] == "198.18.1.4" ? 1 : 0;
    }
    CHECK(rings[0].moved == Approx(static_cast<double>(differ) / kRing));
    CHECK(rings[0].old_size == kRing);
    CHECK(rings[0].new_size == kRing);
    // Every slot of the removed backend moves; Maglev moves few others.
    CHECK(rings[0].moved >= static_cast<double>(of_removed) / kRing);
    CHECK(rings[0].moved == Approx(0.25).margin(0.05));
}

TEST_CASE("reload diff: a weight change names the backend, old and new weight, and the ring", "[plan][diff]") {
    auto after = four_backends();
    after.services[0].backends[1].weight = 3;
    const auto c = compare(four_backends(), after);
    const auto changed = of_kind(c.changes, Kind::backend_changed);
    REQUIRE(changed.size() == 1);
    CHECK(changed[0].backend == "198.18.1.2");
    CHECK(changed[0].field == "weight");
    CHECK(changed[0].from == "1");
    CHECK(changed[0].to == "3");
    const auto rings = of_kind(c.changes, Kind::ring_moved);
    REQUIRE(rings.size() == 1);
    // Its share grows from 1/4 to 3/6: at least that quarter of the ring changes hands.
    CHECK(rings[0].moved >= 0.25 - 0.02);
    CHECK(rings[0].moved < 0.5);
}

TEST_CASE("reload diff: a drain is a state change, and its slots move", "[plan][diff]") {
    auto after = four_backends();
    after.services[0].backends[0].state = config::BackendState::drain;
    const auto c = compare(four_backends(), after);
    const auto changed = of_kind(c.changes, Kind::backend_changed);
    REQUIRE(changed.size() == 1);
    CHECK(changed[0].backend == "198.18.1.1");
    CHECK(changed[0].field == "state");
    CHECK(changed[0].from == "active");
    CHECK(changed[0].to == "drain");
    const auto old_slots = slot_addresses(*c.old_plan.find("web"));
    const auto share = static_cast<double>(std::count(old_slots.begin(), old_slots.end(), "198.18.1.1")) / kRing;
    const auto rings = of_kind(c.changes, Kind::ring_moved);
    REQUIRE(rings.size() == 1);
    CHECK(rings[0].moved >= share);
}

TEST_CASE("reload diff: a new backend of a checked service is pending, and the ring stays", "[plan][diff]") {
    auto before = four_backends();
    before.services[0].health.kind = config::HealthKind::tcp;
    auto after = before;
    after.services[0].backends.push_back(backend("198.18.1.5", 2));
    // The running verdicts: the four known backends are up, the new one has none.
    auto runtime = all_resolved(after);
    for (const auto& b : before.services[0].backends) runtime.health["web"][b.address].state = health::State::up;
    const auto old_plan = plan::make_plan(before, runtime);
    const auto new_plan = plan::make_plan(after, runtime, old_plan);
    const auto changes = plan::changes({before, old_plan, {}}, {after, new_plan, {}});
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].kind == Kind::backend_added);
    CHECK(changes[0].service == "web");
    CHECK(changes[0].backend == "198.18.1.5");
    CHECK(changes[0].to == "weight 2 (pending)");
}

TEST_CASE("reload diff: services added, removed and changed field by field", "[plan][diff]") {
    auto before = four_backends();
    auto dns = service("dns", "198.19.0.2", 53, {backend("198.18.1.9")}, config::Protocol::udp);
    before.services.push_back(dns);
    auto after = four_backends();
    after.services[0].hash = config::HashMode::source;
    after.services[0].health.interval = std::chrono::seconds(5);
    auto api = service("api", "2001:db8::100", 443, {backend("2001:db8::1:1")});
    after.services.push_back(api);

    const auto c = compare(before, after);
    const auto added = of_kind(c.changes, Kind::service_added);
    REQUIRE(added.size() == 1);
    CHECK(added[0].service == "api");
    CHECK(added[0].to == "[2001:db8::100]:443/tcp");
    const auto backends_added = of_kind(c.changes, Kind::backend_added);
    REQUIRE(backends_added.size() == 1);
    CHECK(backends_added[0].service == "api");
    CHECK(backends_added[0].to == "weight 100 (active)");

    const auto removed = of_kind(c.changes, Kind::service_removed);
    REQUIRE(removed.size() == 1);
    CHECK(removed[0].service == "dns");
    CHECK(removed[0].from == "198.19.0.2:53/udp");
    // The backends of a removed service go with it: not listed one by one.
    CHECK(of_kind(c.changes, Kind::backend_removed).empty());

    const auto changed = of_kind(c.changes, Kind::service_changed);
    REQUIRE(changed.size() == 2);
    CHECK(changed[0].field == "hash");
    CHECK(changed[0].from == "5tuple");
    CHECK(changed[0].to == "source");
    CHECK(changed[1].field == "health.interval");
    CHECK(changed[1].from != changed[1].to);
    CHECK(changed[1].to == "5s");
    // The hash is not a ring input: the slots stay.
    CHECK(of_kind(c.changes, Kind::ring_moved).empty());
}

TEST_CASE("reload diff: a ring size change re-maps every slot", "[plan][diff]") {
    auto after = four_backends();
    after.services[0].ring_size = 1013;
    const auto c = compare(four_backends(), after);
    const auto changed = of_kind(c.changes, Kind::service_changed);
    REQUIRE(changed.size() == 1);
    CHECK(changed[0].field == "ring_size");
    const auto rings = of_kind(c.changes, Kind::ring_moved);
    REQUIRE(rings.size() == 1);
    CHECK(rings[0].old_size == kRing);
    CHECK(rings[0].new_size == 1013);
    // Four equal backends on both: a flow keeps its backend by chance, 1 in 4.
    CHECK(rings[0].moved == Approx(0.75).margin(0.02));
}

TEST_CASE("reload diff: the share of flows that move between rings of two sizes", "[plan][diff]") {
    const auto a = ip("198.18.1.1");
    const auto b = ip("198.18.1.2");
    const auto c = ip("198.18.1.3");
    const std::vector<common::IpAddress> old_slots{a, b, c, a, b, c, a};
    const std::vector<common::IpAddress> new_slots{a, a, b, b, c, c, a, b, a, a, b};
    // A flow of hash h takes slot h % 7, then h % 11: count over every h of one period.
    std::size_t moved = 0;
    for (std::size_t h = 0; h < 7 * 11; ++h) moved += old_slots[h % 7] != new_slots[h % 11] ? 1 : 0;
    CHECK(plan::moved_share(old_slots, new_slots) == Approx(static_cast<double>(moved) / 77));

    CHECK(plan::moved_share(old_slots, old_slots) == 0.0);
    CHECK(plan::moved_share({}, {}) == 0.0);
    CHECK(plan::moved_share(old_slots, {}) == 1.0);
    CHECK(plan::moved_share({}, new_slots) == 1.0);
    const std::vector<common::IpAddress> one_changed{a, b, c, a, b, c, b};
    CHECK(plan::moved_share(old_slots, one_changed) == Approx(1.0 / 7));
}

TEST_CASE("reload diff: VIPs announced and withdrawn, and settings", "[plan][diff]") {
    auto after = four_backends();
    after.flood_protection.new_flow_rate_per_cpu = 1000;
    config::Interface eth1;
    eth1.name = "eth1";
    after.interfaces.push_back(eth1);
    const auto c =
        compare(four_backends(), after, {ip("198.19.0.1"), ip("198.19.0.3")}, {ip("198.19.0.1"), ip("198.19.0.2")});
    const auto announced = of_kind(c.changes, Kind::vip_announced);
    REQUIRE(announced.size() == 1);
    CHECK(announced[0].to == "198.19.0.2");
    const auto withdrawn = of_kind(c.changes, Kind::vip_withdrawn);
    REQUIRE(withdrawn.size() == 1);
    CHECK(withdrawn[0].from == "198.19.0.3");
    const auto interfaces = of_kind(c.changes, Kind::interface_added);
    REQUIRE(interfaces.size() == 1);
    CHECK(interfaces[0].field == "eth1");
    const auto settings = of_kind(c.changes, Kind::setting_changed);
    REQUIRE(settings.size() == 1);
    CHECK(settings[0].field == "flood_protection.new_flow_rate_per_cpu");
    CHECK(settings[0].to == "1000");
}

TEST_CASE("reload diff: the VIPs announced after a reload keep the hold-down", "[plan][diff][fleet]") {
    // web on .1 needs 4 usable backends; .2 is a new VIP.
    auto before = four_backends();
    before.services[0].bgp.min_healthy_backends = 4;
    before.bgp = config::Bgp{};
    before.bgp->hold_down = std::chrono::seconds(30);
    auto fewer = before;
    fewer.services[0].backends.pop_back();
    const auto now = fleet::Clock::now();

    // Running with three backends: .1 withdrawn.
    const auto three = plan::make_plan(fewer, all_resolved(fewer));
    fleet::Announcer running;
    running.update(fleet::vip_health(fewer, three), now, before.bgp->hold_down);
    REQUIRE(running.announced().empty());

    auto after = before;
    after.services.push_back(service("api", "198.19.0.2", 443, {backend("198.18.1.9")}));
    const auto planned = plan::make_plan(after, all_resolved(after));
    // .1 is healthy again but waits out its hold-down; the new .2 is announced at once.
    CHECK(fleet::announced_after(running, fewer.bgp, after, planned, now) ==
          std::vector<common::IpAddress>{ip("198.19.0.2")});
    // Another BIRD starts from nothing: both at once.
    auto moved = after;
    moved.bgp->bird_include = "/run/bird/other.conf";
    const auto both = fleet::announced_after(running, fewer.bgp, moved, planned, now);
    CHECK(std::set<common::IpAddress>(both.begin(), both.end()) ==
          std::set<common::IpAddress>{ip("198.19.0.1"), ip("198.19.0.2")});
    // Without bgp nothing is announced.
    auto off = after;
    off.bgp.reset();
    CHECK(fleet::announced_after(running, fewer.bgp, off, planned, now).empty());
}
