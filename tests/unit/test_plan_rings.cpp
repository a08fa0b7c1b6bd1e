// make_plan with the previous plan: a service's ring is reused (shared, not rebuilt)
// exactly when every input of its Maglev table is unchanged, and rebuilt when any
// one of them changes. Either way the ring equals the one a plan from scratch gives.
#include <utility>

#include <catch2/catch.hpp>

#include "plan_test_support.h"

using namespace julier;
using namespace julier::plan_test;

namespace {

config::Catalogue two_services() {
    auto cat = catalogue(
        {service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21", 50), backend("198.18.0.22")}),
         service("dns", "198.19.0.2", 53, {backend("198.18.0.20"), backend("198.18.0.23")}, config::Protocol::udp)});
    cat.services[0].health.kind = config::HealthKind::tcp;
    return cat;
}

plan::RuntimeState all_up(const config::Catalogue& cat) {
    plan::RuntimeState runtime = all_resolved(cat);
    for (const auto& service : cat.services) {
        for (const auto& b : service.backends)
            runtime.health[service.name][b.address].state = julier::health::State::up;
    }
    return runtime;
}

struct Replan {
    plan::Plan before;
    plan::Plan after;
    plan::Plan scratch;  // the same inputs without the previous plan
};

// Plans `cat`/`runtime` once, lets `change` alter them, plans again from the first.
template <typename Change>
Replan replan(Change change) {
    auto cat = two_services();
    auto runtime = all_up(cat);
    Replan r;
    r.before = plan::make_plan(cat, runtime);
    change(cat, runtime, r.before);
    r.after = plan::make_plan(cat, runtime, r.before);
    r.scratch = plan::make_plan(cat, runtime, r.before.ids);
    return r;
}

const plan::Ring& ring(const plan::Plan& p, const char* name) { return p.find(name)->ring; }

void check_rebuilt_web(const Replan& r) {
    CHECK_FALSE(ring(r.after, "web").shares(ring(r.before, "web")));
    CHECK(ring(r.after, "web") == ring(r.scratch, "web"));
    // The other service's inputs did not change: its ring is the same storage.
    CHECK(ring(r.after, "dns").shares(ring(r.before, "dns")));
    CHECK(r.after == r.scratch);
}

}  // namespace

TEST_CASE("unchanged inputs reuse every ring", "[plan][rings]") {
    Replan r = replan([](auto&, auto&, auto&) {});
    CHECK(ring(r.after, "web").shares(ring(r.before, "web")));
    CHECK(ring(r.after, "dns").shares(ring(r.before, "dns")));
    CHECK(r.after == r.scratch);
    // Without a previous plan nothing is shared.
    CHECK_FALSE(ring(r.scratch, "web").shares(ring(r.before, "web")));
}

TEST_CASE("changes outside the ring's inputs keep the ring", "[plan][rings]") {
    Replan r = replan([](config::Catalogue& cat, plan::RuntimeState& runtime, const plan::Plan&) {
        cat.services[0].mtu = 1400;
        runtime.next_hops[ip("198.18.0.21")].next_hop->dst_mac = mac(9, 9);
        // A backend already out of the ring changes again (pending -> down).
        cat.services[0].backends.push_back(backend("198.18.0.24"));
        runtime.next_hops[ip("198.18.0.24")] = neigh::Resolution{direct(ip("198.18.0.24")), ""};
        runtime.health["web"][ip("198.18.0.24")].state = julier::health::State::down;
    });
    CHECK(ring(r.after, "web").shares(ring(r.before, "web")));
    CHECK(r.after.find("web")->vip.mtu == 1400);
    CHECK(r.after == r.scratch);
}

TEST_CASE("a changed ring size rebuilds the ring", "[plan][rings]") {
    Replan r = replan([](config::Catalogue& cat, auto&, auto&) { cat.services[0].ring_size = 103; });
    CHECK(ring(r.after, "web").size() == 103);
    check_rebuilt_web(r);
}

TEST_CASE("a changed configured weight rebuilds the ring", "[plan][rings]") {
    Replan r = replan([](config::Catalogue& cat, auto&, auto&) { cat.services[0].backends[1].weight = 60; });
    check_rebuilt_web(r);
}

TEST_CASE("a changed slow-start share rebuilds the ring", "[plan][rings]") {
    Replan r = replan([](auto&, plan::RuntimeState& runtime, auto&) {
        runtime.health["web"][ip("198.18.0.22")].weight_factor = 0.5;
    });
    check_rebuilt_web(r);
}

TEST_CASE("a member leaving or joining the ring rebuilds it", "[plan][rings]") {
    SECTION("health down") {
        check_rebuilt_web(replan([](auto&, plan::RuntimeState& runtime, auto&) {
            runtime.health["web"][ip("198.18.0.22")].state = julier::health::State::down;
        }));
    }
    SECTION("drained") {
        check_rebuilt_web(replan([](config::Catalogue& cat, auto&, auto&) {
            cat.services[0].backends[0].state = config::BackendState::drain;
        }));
    }
    SECTION("a new backend") {
        check_rebuilt_web(replan([](config::Catalogue& cat, plan::RuntimeState& runtime, auto&) {
            cat.services[0].backends.push_back(backend("198.18.0.24"));
            runtime.next_hops[ip("198.18.0.24")] = neigh::Resolution{direct(ip("198.18.0.24")), ""};
            runtime.health["web"][ip("198.18.0.24")].state = julier::health::State::up;
        }));
    }
}

TEST_CASE("another backend address (identity) rebuilds the ring", "[plan][rings]") {
    Replan r = replan([](config::Catalogue& cat, plan::RuntimeState& runtime, auto&) {
        cat.services[0].backends[2].address = ip("198.18.0.25");
        runtime.next_hops[ip("198.18.0.25")] = neigh::Resolution{direct(ip("198.18.0.25")), ""};
        runtime.health["web"][ip("198.18.0.25")].state = julier::health::State::up;
    });
    check_rebuilt_web(r);
}

TEST_CASE("another order of the members rebuilds the ring", "[plan][rings]") {
    Replan r = replan([](config::Catalogue& cat, auto&, auto&) {
        std::swap(cat.services[0].backends[0], cat.services[0].backends[2]);
    });
    check_rebuilt_web(r);
}

TEST_CASE("another backend id behind the same address rebuilds the ring", "[plan][rings]") {
    // The previous plan claims other ids for web's members (the slots hold ids); the
    // new plan's ids come from the allocator, so the inputs differ by id alone.
    auto cat = two_services();
    auto runtime = all_up(cat);
    plan::Plan before = plan::make_plan(cat, runtime);
    plan::Plan claimed = before;
    for (auto& service : claimed.services) {
        if (service.name == "web") {
            for (auto& b : service.backends) b.id += 10;
        }
    }
    plan::Plan after = plan::make_plan(cat, runtime, claimed);
    CHECK_FALSE(ring(after, "web").shares(ring(claimed, "web")));
    CHECK(ring(after, "web") == ring(before, "web"));
    CHECK(ring(after, "dns").shares(ring(claimed, "dns")));
}

TEST_CASE("a ring is matched by service id, not by name", "[plan][rings]") {
    Replan r = replan([](config::Catalogue& cat, plan::RuntimeState& runtime, auto&) {
        cat.services[0].name = "www";
        runtime.health["www"] = runtime.health["web"];  // health is kept by service name
    });
    REQUIRE_FALSE(r.after.find("www")->ring.empty());
    CHECK(r.after.find("www")->ring.shares(ring(r.before, "web")));
}

TEST_CASE("a service whose ring empties and refills gets a fresh ring", "[plan][rings]") {
    auto cat = two_services();
    auto runtime = all_up(cat);
    plan::Plan full = plan::make_plan(cat, runtime);
    for (const auto& b : cat.services[0].backends) runtime.health["web"][b.address].state = julier::health::State::down;
    plan::Plan empty = plan::make_plan(cat, runtime, full);
    CHECK(ring(empty, "web").empty());
    CHECK(empty.find("web")->vip.ring_size == 0);
    for (const auto& b : cat.services[0].backends) runtime.health["web"][b.address].state = julier::health::State::up;
    plan::Plan again = plan::make_plan(cat, runtime, empty);
    CHECK(ring(again, "web") == ring(full, "web"));
    CHECK_FALSE(ring(again, "web").shares(ring(full, "web")));
}

TEST_CASE("Ring compares by content and shares storage when copied", "[plan][rings]") {
    plan::Ring a(std::vector<std::uint32_t>{1, 2, 3});
    plan::Ring b(std::vector<std::uint32_t>{1, 2, 3});
    plan::Ring c(std::vector<std::uint32_t>{1, 2, 4});
    plan::Ring copy = a;
    CHECK(a == b);
    CHECK_FALSE(a.shares(b));
    CHECK_FALSE(a == c);
    CHECK(copy.shares(a));
    CHECK(a == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(plan::Ring{}.empty());
    CHECK(plan::Ring(std::vector<std::uint32_t>{}) == plan::Ring{});
    CHECK_FALSE(plan::Ring{} == a);
}
