// The operator drain rule: an override holds until undone or until the catalogue
// changes that backend's state (or drops the backend).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "config/catalogue.h"
#include "daemon/operator_drains.h"

using julier::common::IpAddress;
using julier::config::BackendState;
using julier::daemon::OperatorDrains;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

julier::config::Backend backend(const char* address, BackendState state = BackendState::active) {
    julier::config::Backend b;
    b.address = ip(address);
    b.state = state;
    return b;
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

TEST_CASE("operator drains: drain and undrain of a backend the file calls active", "[daemon][drains]") {
    OperatorDrains drains;
    const auto c = catalogue();

    auto r = drains.set(c, "web", "198.18.0.21", BackendState::drain);
    CHECK(r.error.empty());
    CHECK(r.changed);
    CHECK(r.effective == BackendState::drain);
    CHECK(drains.override_for("web", ip("198.18.0.21")) == BackendState::drain);
    CHECK_FALSE(drains.override_for("web", ip("198.18.0.20")));

    r = drains.set(c, "web", "198.18.0.21", BackendState::drain);
    CHECK_FALSE(r.changed);

    r = drains.set(c, "web", "198.18.0.21", BackendState::active);
    CHECK(r.changed);
    CHECK(r.effective == BackendState::active);
    CHECK(drains.empty());  // back to what the file says: nothing to remember

    r = drains.set(c, "web", "198.18.0.21", BackendState::active);
    CHECK_FALSE(r.changed);
    CHECK(drains.empty());
}

TEST_CASE("operator drains: addresses are matched as addresses, not as text", "[daemon][drains]") {
    OperatorDrains drains;
    auto r = drains.set(catalogue(), "dns", "2001:DB8:0::53", BackendState::drain);
    CHECK(r.error.empty());
    CHECK(drains.override_for("dns", ip("2001:db8::53")) == BackendState::drain);
}

TEST_CASE("operator drains: unknown service, backend or address are refused", "[daemon][drains]") {
    OperatorDrains drains;
    const auto c = catalogue();
    CHECK(drains.set(c, "mail", "198.18.0.20", BackendState::drain).error == "no service 'mail' (services: web, dns)");
    CHECK(drains.set(c, "web", "198.18.0.99", BackendState::drain).error == "service 'web' has no backend 198.18.0.99");
    CHECK(drains.set(c, "web", "2001:db8::53", BackendState::drain).error ==
          "service 'web' has no backend 2001:db8::53");
    CHECK(drains.set(c, "web", "host.example", BackendState::drain).error ==
          "'host.example' is not an IPv4 or IPv6 address");
    CHECK(drains.set(julier::config::Catalogue{}, "web", "198.18.0.20", BackendState::drain).error ==
          "no service 'web' (services: none)");
    CHECK(drains.empty());
}

TEST_CASE("operator drains: an override survives reloads that leave the backend's state alone", "[daemon][drains]") {
    OperatorDrains drains;
    drains.set(catalogue(), "web", "198.18.0.21", BackendState::drain);
    auto next = catalogue();
    next.services[0].backends[1].weight = 5;  // other fields may change
    next.services[1].backends[0].weight = 0;
    CHECK(drains.reconcile(next).empty());
    CHECK(drains.override_for("web", ip("198.18.0.21")) == BackendState::drain);
}

TEST_CASE("operator drains: the file changing the backend's state drops the override", "[daemon][drains]") {
    OperatorDrains drains;
    drains.set(catalogue(), "web", "198.18.0.21", BackendState::drain);
    const auto dropped = drains.reconcile(catalogue(BackendState::drain));
    REQUIRE(dropped.size() == 1);
    CHECK(dropped[0].service == "web");
    CHECK(dropped[0].address == ip("198.18.0.21"));
    CHECK(dropped[0].reason == "state changed in the catalogue to drain");
    CHECK(drains.empty());
}

TEST_CASE("operator drains: undrain of a backend the file drains holds until the file changes", "[daemon][drains]") {
    OperatorDrains drains;
    const auto drained = catalogue(BackendState::drain);
    auto r = drains.set(drained, "web", "198.18.0.21", BackendState::active);
    CHECK(r.changed);
    CHECK(drains.override_for("web", ip("198.18.0.21")) == BackendState::active);
    CHECK(drains.reconcile(drained).empty());  // same file: still undrained
    CHECK(drains.override_for("web", ip("198.18.0.21")) == BackendState::active);

    const auto dropped = drains.reconcile(catalogue(BackendState::active));
    REQUIRE(dropped.size() == 1);
    CHECK(dropped[0].reason == "state changed in the catalogue to active");
    CHECK(drains.empty());
}

TEST_CASE("operator drains: a drain the file already says keeps no override", "[daemon][drains]") {
    OperatorDrains drains;
    auto r = drains.set(catalogue(BackendState::drain), "web", "198.18.0.21", BackendState::drain);
    CHECK(r.error.empty());
    CHECK_FALSE(r.changed);
    CHECK(drains.empty());
}

TEST_CASE("operator drains: overrides of removed backends and services go", "[daemon][drains]") {
    OperatorDrains drains;
    drains.set(catalogue(), "web", "198.18.0.21", BackendState::drain);
    drains.set(catalogue(), "dns", "2001:db8::53", BackendState::drain);

    auto next = catalogue(BackendState::active, /*with_second=*/false);
    next.services.pop_back();  // dns gone
    auto dropped = drains.reconcile(next);
    REQUIRE(dropped.size() == 2);
    for (const auto& d : dropped) CHECK(d.reason == "backend removed from the catalogue");
    CHECK(drains.empty());
}

TEST_CASE("operator drains: kept on disk as JSON and read back", "[daemon][drains]") {
    OperatorDrains drains;
    drains.set(catalogue(), "web", "198.18.0.21", BackendState::drain);
    drains.set(catalogue(), "dns", "2001:db8::53", BackendState::drain);
    const auto document = drains.to_json();
    CHECK(document["operator_overrides"].size() == 2);
    CHECK(OperatorDrains::from_json(document) == drains);

    const auto read = OperatorDrains::from_json(nlohmann::json::parse(R"({"operator_overrides": [
        {"service": "web", "backend": "198.18.0.20", "state": "drain", "config_state": "active"},
        {"service": "web", "backend": "not an address", "state": "drain", "config_state": "active"},
        {"service": "web", "backend": "198.18.0.21", "state": "sleep", "config_state": "active"},
        {"service": "web", "backend": "198.18.0.22", "state": "drain", "config_state": "drain"},
        {"service": 5, "backend": "198.18.0.23", "state": "drain", "config_state": "active"},
        "junk"
    ]})"));
    REQUIRE(read.all().size() == 1);
    CHECK(read.override_for("web", ip("198.18.0.20")) == BackendState::drain);
    CHECK(OperatorDrains::from_json(nlohmann::json::array()).empty());
}
