// Stable ids across plans, the fragment table's choice of service, and diff().
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <set>

#include <catch2/catch.hpp>

#include "plan_test_support.h"

using namespace julier;
using namespace julier::plan_test;
using plan::BackendKey;
using plan::IdAllocator;
using plan::ServiceKey;

namespace {

std::uint32_t backend_id(const plan::Plan& p, const std::string& service, const std::string& address) {
    return find_backend(*p.find(service), address).id;
}

}  // namespace

TEST_CASE("ids survive re-planning; new ones are never-used ids first", "[plan][ids]") {
    auto cat = catalogue(
        {service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21"), backend("198.18.0.22")}),
         service("api", "198.19.0.2", 443, {backend("198.18.0.20")})});
    plan::Plan first = plan::make_plan(cat, all_resolved(cat));
    std::set<std::uint32_t> first_ids;
    for (const auto& s : first.services) {
        for (const auto& b : s.backends) first_ids.insert(b.id);
    }
    CHECK(first_ids == std::set<std::uint32_t>{0, 1, 2, 3});
    CHECK(first.find("web")->id == 0);
    CHECK(first.find("api")->id == 1);

    // Remove .21, add .23, reorder, rename api: everything kept keeps its id.
    auto next = catalogue(
        {service("api-renamed", "198.19.0.2", 443, {backend("198.18.0.20")}),
         service("web", "198.19.0.1", 80, {backend("198.18.0.23"), backend("198.18.0.22"), backend("198.18.0.20")})});
    plan::Plan second = plan::make_plan(next, all_resolved(next), first.ids);
    CHECK(second.find("web")->id == 0);
    CHECK(second.find("api-renamed")->id == 1);
    CHECK(backend_id(second, "web", "198.18.0.20") == backend_id(first, "web", "198.18.0.20"));
    CHECK(backend_id(second, "web", "198.18.0.22") == backend_id(first, "web", "198.18.0.22"));
    CHECK(backend_id(second, "api-renamed", "198.18.0.20") == backend_id(first, "api", "198.18.0.20"));
    // .21's id is free again, but a never-used id comes first.
    CHECK(backend_id(second, "web", "198.18.0.23") == 4);

    // The same backend address in two services is two backends with two ids.
    CHECK(backend_id(second, "web", "198.18.0.20") != backend_id(second, "api-renamed", "198.18.0.20"));
}

TEST_CASE("freed ids are reused oldest first, only when no never-used id is left", "[plan][ids]") {
    IdAllocator ids;
    ServiceKey web{ip("198.19.0.1"), 80, IPPROTO_TCP};
    auto key = [&](const std::string& a) { return BackendKey{web, ip(a)}; };
    ids.update({web}, 4, {key("198.18.0.1"), key("198.18.0.2"), key("198.18.0.3")}, 4);
    CHECK(*ids.backend_id(key("198.18.0.1")) == 0);
    CHECK(*ids.backend_id(key("198.18.0.2")) == 1);
    CHECK(*ids.backend_id(key("198.18.0.3")) == 2);

    ids.update({web}, 4, {key("198.18.0.1"), key("198.18.0.3")}, 4);  // frees 1
    ids.update({web}, 4, {key("198.18.0.3")}, 4);                     // frees 0
    ids.update({web}, 4, {key("198.18.0.3"), key("198.18.0.4")}, 4);
    CHECK(*ids.backend_id(key("198.18.0.4")) == 3);  // never used before
    ids.update({web}, 4, {key("198.18.0.3"), key("198.18.0.4"), key("198.18.0.5")}, 4);
    CHECK(*ids.backend_id(key("198.18.0.5")) == 1);  // freed first
    ids.update({web}, 4, {key("198.18.0.3"), key("198.18.0.4"), key("198.18.0.5"), key("198.18.0.6")}, 4);
    CHECK(*ids.backend_id(key("198.18.0.6")) == 0);

    IdAllocator before = ids;
    CHECK_THROWS_AS(
        ids.update({web}, 4,
                   {key("198.18.0.3"), key("198.18.0.4"), key("198.18.0.5"), key("198.18.0.6"), key("198.18.0.7")}, 4),
        plan::PlanError);
    CHECK(ids == before);  // a failed update changes nothing
}

TEST_CASE("restore() rebuilds ids read back from a running forwarder", "[plan][ids]") {
    ServiceKey web{ip("198.19.0.1"), 80, IPPROTO_TCP};
    std::map<ServiceKey, std::uint32_t> services{{web, 3}};
    std::map<BackendKey, std::uint32_t> backends{{BackendKey{web, ip("198.18.0.20")}, 5},
                                                 {BackendKey{web, ip("198.18.0.21")}, 2}};
    IdAllocator ids = IdAllocator::restore(services, backends);
    CHECK(*ids.service_id(web) == 3);
    CHECK(*ids.backend_id(BackendKey{web, ip("198.18.0.20")}) == 5);

    auto cat = catalogue(
        {service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21"), backend("198.18.0.22")}),
         service("new", "198.19.0.9", 80, {backend("198.18.0.20")})});
    plan::Plan p = plan::make_plan(cat, all_resolved(cat), ids);
    CHECK(p.find("web")->id == 3);
    CHECK(backend_id(p, "web", "198.18.0.20") == 5);
    CHECK(backend_id(p, "web", "198.18.0.21") == 2);
    // New ids go above the highest restored one, never onto a live id.
    CHECK(backend_id(p, "web", "198.18.0.22") == 6);
    CHECK(backend_id(p, "new", "198.18.0.20") == 7);
    CHECK(p.find("new")->id == 4);
}

TEST_CASE("fragments go to the port-0 service, else the lowest port", "[plan][frag]") {
    auto cat = catalogue({
        service("https", "198.19.0.1", 443, {backend("198.18.0.20")}),
        service("http", "198.19.0.1", 80, {backend("198.18.0.20")}),
        service("all", "198.19.0.1", 0, {backend("198.18.0.20")}),
        service("dns", "198.19.0.1", 53, {backend("198.18.0.20")}, config::Protocol::udp),
        service("other", "198.19.0.2", 8443, {backend("198.18.0.20")}),
        service("other-low", "198.19.0.2", 8080, {backend("198.18.0.20")}),
    });
    plan::Plan p = plan::make_plan(cat, all_resolved(cat));
    REQUIRE(p.frag_vips.size() == 3);
    std::map<std::pair<std::string, std::uint8_t>, std::string> chosen;
    for (const auto& f : p.frag_vips) {
        CHECK(f.key.port == 0);
        CHECK(f.key.side == 0);
        common::IpAddress vip;
        vip.family = 4;
        std::memcpy(vip.bytes.data(), f.key.addr, 4);
        chosen[{vip.to_string(), f.key.proto}] = p.services[f.service].name;
    }
    CHECK(chosen[{"198.19.0.1", IPPROTO_TCP}] == "all");
    CHECK(chosen[{"198.19.0.1", IPPROTO_UDP}] == "dns");
    CHECK(chosen[{"198.19.0.2", IPPROTO_TCP}] == "other-low");
}

TEST_CASE("diff names what changed", "[plan][diff]") {
    auto cat = catalogue({service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")}),
                          service("api", "198.19.0.2", 80, {backend("198.18.0.20")}),
                          service("gone", "198.19.0.3", 80, {backend("198.18.0.20")})});
    plan::Plan before = plan::make_plan(cat, all_resolved(cat));
    CHECK(plan::diff(before, before).empty());

    auto next = catalogue({service("web", "198.19.0.1", 80,
                                   {backend("198.18.0.20"), backend("198.18.0.21", 100, config::BackendState::drain),
                                    backend("198.18.0.22")}),
                           service("api", "198.19.0.2", 80, {backend("198.18.0.20")}),
                           service("new", "198.19.0.4", 80, {backend("198.18.0.20")})});
    plan::Plan after = plan::make_plan(next, all_resolved(next), before.ids);
    plan::PlanDiff d = plan::diff(before, after);

    CHECK(d.added_services == std::vector<std::string>{"new"});
    CHECK(d.removed_services == std::vector<std::string>{"gone"});
    CHECK(d.changed_services == std::vector<std::string>{"web"});
    CHECK(d.frag_vips_changed);
    using Kind = plan::PlanDiff::BackendChange::Kind;
    std::map<std::pair<std::string, std::string>, plan::PlanDiff::BackendChange> changes;
    for (const auto& c : d.backends) changes[{c.service, c.address.to_string()}] = c;
    REQUIRE(changes.size() == 4);
    CHECK(changes[{"web", "198.18.0.21"}].kind == Kind::changed);
    CHECK(changes[{"web", "198.18.0.21"}].old_role == plan::BackendRole::in_ring);
    CHECK(changes[{"web", "198.18.0.21"}].new_role == plan::BackendRole::draining);
    CHECK(changes[{"web", "198.18.0.21"}].old_weight == 100);
    CHECK(changes[{"web", "198.18.0.21"}].new_weight == 0);
    CHECK(changes[{"web", "198.18.0.22"}].kind == Kind::added);
    CHECK(changes.count({"web", "198.18.0.20"}) == 0);  // its ring share changed, the backend did not
    CHECK(changes[{"new", "198.18.0.20"}].kind == Kind::added);
    CHECK(changes[{"gone", "198.18.0.20"}].kind == Kind::removed);
}

TEST_CASE("an update with the same keys in any order or grouping changes nothing", "[plan][ids]") {
    ServiceKey web{ip("198.19.0.1"), 80, IPPROTO_TCP};
    ServiceKey api{ip("198.19.0.2"), 443, IPPROTO_TCP};
    std::vector<ServiceKey> services{web, api};
    std::vector<BackendKey> backends{{web, ip("198.18.0.20")}, {web, ip("198.18.0.21")}, {api, ip("198.18.0.20")}};
    IdAllocator ids;
    ids.update(services, 16, backends, 64);
    const IdAllocator before = ids;

    // Reordered within a service, services interleaved (web split in two runs).
    std::vector<BackendKey> interleaved{{web, ip("198.18.0.21")}, {api, ip("198.18.0.20")}, {web, ip("198.18.0.20")}};
    ids.update({api, web}, 16, interleaved, 64);
    CHECK(ids == before);

    // A key given twice in place of another: the other's id is released, the twice
    // given key keeps its id.
    std::vector<BackendKey> twice{{web, ip("198.18.0.20")}, {web, ip("198.18.0.20")}, {api, ip("198.18.0.20")}};
    ids.update(services, 16, twice, 64);
    CHECK(ids.backends().size() == 2);
    CHECK(ids.backend_id({web, ip("198.18.0.20")}) == before.backend_id({web, ip("198.18.0.20")}));
    CHECK_FALSE(ids.backend_id({web, ip("198.18.0.21")}));
}
