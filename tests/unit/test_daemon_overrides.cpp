// The operator override rule: an override holds until undone or until the catalogue
// changes the field it overrides (or drops the backend); maint overrides no field.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "config/catalogue.h"
#include "config/schema.h"
#include "daemon/operator_overrides.h"

using julier::common::IpAddress;
using julier::config::BackendState;
using julier::daemon::OperatorOverrides;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

julier::config::Backend backend(const char* address, BackendState state = BackendState::active) {
    julier::config::Backend b;
    b.address = ip(address);
    b.state = state;
    return b;
}

// The drain part of a backend's override, as the planner sees it.
std::optional<BackendState> state_of(const OperatorOverrides& o, const char* service, const char* address) {
    const auto* found = o.find(service, ip(address));
    return found != nullptr ? found->wants.state : std::nullopt;
}

julier::config::Catalogue catalogue(BackendState second_state = BackendState::active, bool with_second = true) {
    julier::config::Service web;
    web.name = "web";
    web.vip = ip("198.19.0.1");
    web.port = 80;
    web.backends.push_back(backend("198.18.0.20"));
    if (with_second) web.backends.push_back(backend("198.18.0.21", second_state));
    julier::config::Service dns;
    dns.name = "dns";
    dns.vip = ip("2001:db8:100::53");
    dns.port = 53;
    dns.protocol = julier::config::Protocol::udp;
    dns.backends.push_back(backend("2001:db8::53"));
    julier::config::Catalogue c;
    c.services = {web, dns};
    return c;
}

}  // namespace

TEST_CASE("operator overrides: drains: drain and undrain of a backend the file calls active", "[daemon][overrides]") {
    OperatorOverrides drains;
    const auto c = catalogue();

    auto r = drains.set_state(c, "web", "198.18.0.21", BackendState::drain);
    CHECK(r.error.empty());
    CHECK(r.changed);
    CHECK(state_of(drains, "web", "198.18.0.21") == BackendState::drain);
    CHECK_FALSE(state_of(drains, "web", "198.18.0.20"));

    r = drains.set_state(c, "web", "198.18.0.21", BackendState::drain);
    CHECK_FALSE(r.changed);

    r = drains.set_state(c, "web", "198.18.0.21", BackendState::active);
    CHECK(r.changed);
    CHECK(drains.empty());  // back to what the file says: nothing to remember

    r = drains.set_state(c, "web", "198.18.0.21", BackendState::active);
    CHECK_FALSE(r.changed);
    CHECK(drains.empty());
}

TEST_CASE("operator overrides: drains: addresses are matched as addresses, not as text", "[daemon][overrides]") {
    OperatorOverrides drains;
    auto r = drains.set_state(catalogue(), "dns", "2001:DB8:0::53", BackendState::drain);
    CHECK(r.error.empty());
    CHECK(state_of(drains, "dns", "2001:db8::53") == BackendState::drain);
}

TEST_CASE("operator overrides: drains: unknown service, backend or address are refused", "[daemon][overrides]") {
    OperatorOverrides drains;
    const auto c = catalogue();
    CHECK(drains.set_state(c, "mail", "198.18.0.20", BackendState::drain).error ==
          "no service 'mail' (services: web, dns)");
    CHECK(drains.set_state(c, "web", "198.18.0.99", BackendState::drain).error ==
          "service 'web' has no backend 198.18.0.99");
    CHECK(drains.set_state(c, "web", "2001:db8::53", BackendState::drain).error ==
          "service 'web' has no backend 2001:db8::53");
    CHECK(drains.set_state(c, "web", "host.example", BackendState::drain).error ==
          "'host.example' is not an IPv4 or IPv6 address");
    CHECK(drains.set_state(julier::config::Catalogue{}, "web", "198.18.0.20", BackendState::drain).error ==
          "no service 'web' (services: none)");
    CHECK(drains.empty());
}

TEST_CASE("operator overrides: drains: an override survives reloads that leave the backend's state alone",
          "[daemon][overrides]") {
    OperatorOverrides drains;
    drains.set_state(catalogue(), "web", "198.18.0.21", BackendState::drain);
    auto next = catalogue();
    next.services[0].backends[1].weight = 5;  // other fields may change
    next.services[1].backends[0].weight = 0;
    CHECK(drains.reconcile(next).empty());
    CHECK(state_of(drains, "web", "198.18.0.21") == BackendState::drain);
}

TEST_CASE("operator overrides: drains: the file changing the backend's state drops the override",
          "[daemon][overrides]") {
    OperatorOverrides drains;
    drains.set_state(catalogue(), "web", "198.18.0.21", BackendState::drain);
    const auto dropped = drains.reconcile(catalogue(BackendState::drain));
    REQUIRE(dropped.size() == 1);
    CHECK(dropped[0].service == "web");
    CHECK(dropped[0].address == ip("198.18.0.21"));
    CHECK(dropped[0].reason == "state changed in the catalogue to drain");
    CHECK(dropped[0].override_ == "drain");
    CHECK(drains.empty());
}

TEST_CASE("operator overrides: drains: undrain of a backend the file drains holds until the file changes",
          "[daemon][overrides]") {
    OperatorOverrides drains;
    const auto drained = catalogue(BackendState::drain);
    auto r = drains.set_state(drained, "web", "198.18.0.21", BackendState::active);
    CHECK(r.changed);
    CHECK(state_of(drains, "web", "198.18.0.21") == BackendState::active);
    CHECK(drains.reconcile(drained).empty());  // same file: still undrained
    CHECK(state_of(drains, "web", "198.18.0.21") == BackendState::active);

    const auto dropped = drains.reconcile(catalogue(BackendState::active));
    REQUIRE(dropped.size() == 1);
    CHECK(dropped[0].reason == "state changed in the catalogue to active");
    CHECK(drains.empty());
}

TEST_CASE("operator overrides: drains: a drain the file already says keeps no override", "[daemon][overrides]") {
    OperatorOverrides drains;
    auto r = drains.set_state(catalogue(BackendState::drain), "web", "198.18.0.21", BackendState::drain);
    CHECK(r.error.empty());
    CHECK_FALSE(r.changed);
    CHECK(drains.empty());
}

TEST_CASE("operator overrides: drains: overrides of removed backends and services go", "[daemon][overrides]") {
    OperatorOverrides drains;
    drains.set_state(catalogue(), "web", "198.18.0.21", BackendState::drain);
    drains.set_state(catalogue(), "dns", "2001:db8::53", BackendState::drain);

    auto next = catalogue(BackendState::active, /*with_second=*/false);
    next.services.pop_back();  // dns gone
    auto dropped = drains.reconcile(next);
    REQUIRE(dropped.size() == 2);
    for (const auto& d : dropped) CHECK(d.reason == "backend removed from the catalogue");
    CHECK(drains.empty());
}

TEST_CASE("operator overrides: drains: kept on disk as JSON and read back", "[daemon][overrides]") {
    OperatorOverrides drains;
    drains.set_state(catalogue(), "web", "198.18.0.21", BackendState::drain);
    drains.set_state(catalogue(), "dns", "2001:db8::53", BackendState::drain);
    const auto document = drains.to_json();
    CHECK(document["operator_overrides"].size() == 2);
    CHECK(OperatorOverrides::from_json(document) == drains);

    const auto read = OperatorOverrides::from_json(nlohmann::json::parse(R"({"operator_overrides": [
        {"service": "web", "backend": "198.18.0.20", "state": "drain", "config_state": "active"},
        {"service": "web", "backend": "not an address", "state": "drain", "config_state": "active"},
        {"service": "web", "backend": "198.18.0.21", "state": "sleep", "config_state": "active"},
        {"service": "web", "backend": "198.18.0.22", "state": "drain", "config_state": "drain"},
        {"service": 5, "backend": "198.18.0.23", "state": "drain", "config_state": "active"},
        "junk"
    ]})"));
    REQUIRE(read.all().size() == 1);
    CHECK(state_of(read, "web", "198.18.0.20") == BackendState::drain);
    CHECK(OperatorOverrides::from_json(nlohmann::json::array()).empty());
}

TEST_CASE("operator overrides: weight holds until the file changes that backend's weight", "[daemon][overrides]") {
    OperatorOverrides o;
    const auto c = catalogue();  // every backend: weight 100
    auto r = o.set_weight(c, "web", "198.18.0.21", 3);
    CHECK(r.error.empty());
    CHECK(r.changed);
    REQUIRE(o.find("web", ip("198.18.0.21")) != nullptr);
    CHECK(o.find("web", ip("198.18.0.21"))->wants.weight == 3u);
    CHECK(o.find("web", ip("198.18.0.21"))->config_weight == 100);
    CHECK_FALSE(o.set_weight(c, "web", "198.18.0.21", 3).changed);

    // Another field, or another backend's weight, changing keeps it.
    auto next = catalogue(BackendState::drain);
    next.services[0].backends[0].weight = 7;
    CHECK(o.reconcile(next).empty());
    CHECK(o.find("web", ip("198.18.0.21"))->wants.weight == 3u);

    // Its own weight in the file changing drops it: the file is the newer word.
    next.services[0].backends[1].weight = 50;
    const auto dropped = o.reconcile(next);
    REQUIRE(dropped.size() == 1);
    CHECK(dropped[0].override_ == "weight 3");
    CHECK(dropped[0].reason == "weight changed in the catalogue to 50");
    CHECK(o.empty());
}

TEST_CASE("operator overrides: the file's weight lifts a weight; 0 is a weight", "[daemon][overrides]") {
    OperatorOverrides o;
    const auto c = catalogue();
    CHECK(o.set_weight(c, "web", "198.18.0.21", 0).changed);
    CHECK(o.find("web", ip("198.18.0.21"))->wants.weight == 0u);
    auto r = o.set_weight(c, "web", "198.18.0.21", 100);
    CHECK(r.changed);
    CHECK(o.empty());
    CHECK_FALSE(o.set_weight(c, "web", "198.18.0.21", 100).changed);  // already the file's
}

TEST_CASE("operator overrides: a weight out of the catalogue's bounds is refused", "[daemon][overrides]") {
    OperatorOverrides o;
    const auto max = julier::config::schema::field(julier::config::schema::Section::backend, "weight").max;
    CHECK(o.set_weight(catalogue(), "web", "198.18.0.21", static_cast<std::uint32_t>(max)).error.empty());
    CHECK(o.set_weight(catalogue(), "web", "198.18.0.21", static_cast<std::uint32_t>(max) + 1).error ==
          "weight 1000001 is out of range: 0 to 1000000");
    CHECK(o.find("web", ip("198.18.0.21"))->wants.weight == max);  // the refused one changed nothing
    CHECK(o.set_weight(catalogue(), "web", "198.18.0.99", 5).error == "service 'web' has no backend 198.18.0.99");
}

TEST_CASE("operator overrides: maint holds through reloads until ready or the backend goes", "[daemon][overrides]") {
    OperatorOverrides o;
    auto r = o.set_maint(catalogue(), "web", "198.18.0.21", true);
    CHECK(r.error.empty());
    CHECK(r.changed);
    CHECK(o.find("web", ip("198.18.0.21"))->wants.maint);
    CHECK_FALSE(o.set_maint(catalogue(), "web", "198.18.0.21", true).changed);

    // The file has no word for maint: changing the backend's state or weight keeps it.
    auto next = catalogue(BackendState::drain);
    next.services[0].backends[1].weight = 5;
    CHECK(o.reconcile(next).empty());
    CHECK(o.find("web", ip("198.18.0.21"))->wants.maint);

    r = o.set_maint(next, "web", "198.18.0.21", false);  // ready
    CHECK(r.changed);
    CHECK(o.empty());
    CHECK_FALSE(o.set_maint(next, "web", "198.18.0.21", false).changed);

    o.set_maint(next, "web", "198.18.0.21", true);
    const auto dropped = o.reconcile(catalogue(BackendState::active, /*with_second=*/false));
    REQUIRE(dropped.size() == 1);
    CHECK(dropped[0].override_ == "maint");
    CHECK(dropped[0].reason == "backend removed from the catalogue");
    CHECK(o.empty());
}

TEST_CASE("operator overrides: parts of one backend are set, lifted and dropped each on its own",
          "[daemon][overrides]") {
    OperatorOverrides o;
    const auto c = catalogue();
    o.set_state(c, "web", "198.18.0.21", BackendState::drain);
    o.set_weight(c, "web", "198.18.0.21", 20);
    o.set_maint(c, "web", "198.18.0.21", true);
    CHECK(o.find("web", ip("198.18.0.21"))->describe() == "drain, weight 20, maint");
    CHECK(o.for_plan().at("web").at(ip("198.18.0.21")) ==
          julier::plan::BackendOverride{BackendState::drain, 20u, true});

    o.set_maint(c, "web", "198.18.0.21", false);  // ready leaves the drain and the weight
    CHECK(o.find("web", ip("198.18.0.21"))->describe() == "drain, weight 20");

    // A reload changing both fields drops both parts, each with its reason.
    auto next = catalogue(BackendState::drain);
    next.services[0].backends[1].weight = 30;
    const auto dropped = o.reconcile(next);
    REQUIRE(dropped.size() == 2);
    CHECK(dropped[0].override_ == "drain");
    CHECK(dropped[1].override_ == "weight 20");
    CHECK(dropped[1].reason == "weight changed in the catalogue to 30");
    CHECK(o.empty());
}

TEST_CASE("operator overrides: weight and maint kept on disk and read back", "[daemon][overrides]") {
    OperatorOverrides o;
    const auto c = catalogue();
    o.set_state(c, "web", "198.18.0.21", BackendState::drain);
    o.set_weight(c, "web", "198.18.0.21", 20);
    o.set_maint(c, "web", "198.18.0.20", true);
    o.set_weight(c, "dns", "2001:db8::53", 0);
    const auto document = o.to_json();
    CHECK(document == nlohmann::json::parse(R"({"operator_overrides": [
        {"service": "dns", "backend": "2001:db8::53", "weight": 0, "config_weight": 100},
        {"service": "web", "backend": "198.18.0.20", "maint": true},
        {"service": "web", "backend": "198.18.0.21", "state": "drain", "config_state": "active",
         "weight": 20, "config_weight": 100}
    ]})"));
    CHECK(OperatorOverrides::from_json(document) == o);

    // Malformed parts go, the sound parts of the same entry stay.
    const auto read = OperatorOverrides::from_json(nlohmann::json::parse(R"({"operator_overrides": [
        {"service": "web", "backend": "198.18.0.20", "weight": -1, "config_weight": 100, "maint": true},
        {"service": "web", "backend": "198.18.0.21", "weight": 5, "config_weight": 5, "state": "drain",
         "config_state": "active"},
        {"service": "web", "backend": "198.18.0.22", "weight": 1000001, "config_weight": 100},
        {"service": "web", "backend": "198.18.0.23", "weight": 7, "maint": "yes"},
        {"service": "web", "backend": "198.18.0.24", "weight": 7.5, "config_weight": 100}
    ]})"));
    REQUIRE(read.all().size() == 1);
    REQUIRE(read.all().at("web").size() == 2);
    CHECK(read.find("web", ip("198.18.0.20"))->wants ==
          julier::plan::BackendOverride{std::nullopt, std::nullopt, true});
    CHECK(read.find("web", ip("198.18.0.21"))->wants ==
          julier::plan::BackendOverride{BackendState::drain, std::nullopt, false});
}

TEST_CASE("operator overrides: a file of the drains-only version still loads", "[daemon][overrides]") {
    // Written by julierd before weight and maint existed.
    const auto read = OperatorOverrides::from_json(nlohmann::json::parse(R"({
  "operator_overrides": [
    {"backend": "198.18.0.21", "config_state": "active", "service": "web", "state": "drain"},
    {"backend": "2001:db8::53", "config_state": "drain", "service": "dns", "state": "active"}
  ]
})"));
    OperatorOverrides expected;
    expected.set_state(catalogue(), "web", "198.18.0.21", BackendState::drain);
    auto dns_drained = catalogue();
    dns_drained.services[1].backends[0].state = BackendState::drain;
    expected.set_state(dns_drained, "dns", "2001:db8::53", BackendState::active);
    CHECK(read == expected);
    CHECK(state_of(read, "web", "198.18.0.21") == BackendState::drain);
    CHECK(state_of(read, "dns", "2001:db8::53") == BackendState::active);
}
