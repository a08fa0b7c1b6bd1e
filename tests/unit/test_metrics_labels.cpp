// The label table the metrics build from an applied plan: names and addresses for
// ids, and the backend state gauges.
#include <catch2/catch.hpp>

#include <netinet/in.h>

#include "metrics/label_table.h"

using namespace julier;
using julier::common::IpAddress;

namespace {

IpAddress ip(const char* text) {
    auto address = IpAddress::parse(text);
    REQUIRE(address);
    return *address;
}

plan::PlannedBackend planned(std::uint32_t id, const char* address, plan::BackendRole role, health::State health,
                             std::uint32_t weight, std::uint32_t configured_weight) {
    plan::PlannedBackend backend;
    backend.id = id;
    backend.address = ip(address);
    backend.role = role;
    backend.health = health;
    backend.weight = weight;
    backend.configured_weight = configured_weight;
    return backend;
}

}  // namespace

TEST_CASE("metrics labels: ids, names, addresses and backend state of a plan", "[metrics]") {
    // The labels copy the plan's decision (plan::decide_backend); they decide nothing.
    using health::State;
    using plan::BackendRole;

    plan::Plan plan;
    plan::PlannedService web;
    web.name = "web";
    web.id = 4;
    web.key = {.vip = ip("198.18.0.100"), .port = 443, .protocol = IPPROTO_TCP};
    web.backends = {
        planned(7, "198.18.1.1", BackendRole::in_ring, State::up, 100, 100),
        planned(8, "198.18.1.2", BackendRole::draining, State::up, 0, 50),
        planned(9, "198.18.1.3", BackendRole::down, State::down, 0, 100),
        planned(10, "198.18.1.4", BackendRole::pending, State::unknown, 0, 100),  // never probed yet
        planned(13, "198.18.1.5", BackendRole::maint, State::up, 0, 100),         // forced down, health passes
    };
    plan::PlannedService unchecked;
    unchecked.name = "static";
    unchecked.id = 2;
    unchecked.key = {.vip = ip("2001:0db8:0:0::0001"), .port = 0, .protocol = IPPROTO_UDP};
    unchecked.backends = {
        planned(11, "2001:db8::a", BackendRole::in_ring, State::up, 1, 1),  // no check: decided up
        planned(12, "2001:db8::b", BackendRole::down, State::down, 0, 1),
    };
    plan.services = {web, unchecked};

    const auto table = metrics::make_label_table(plan);
    REQUIRE(table.services.size() == 2);

    const auto& w = table.services[0];
    CHECK(w.id == 4);
    CHECK(w.name == "web");
    CHECK(w.vip == "198.18.0.100");
    CHECK(w.port == "443");
    CHECK(w.protocol == "tcp");
    REQUIRE(w.backends.size() == 5);
    CHECK(
        w.backends[0] ==
        metrics::BackendLabels{
            .id = 7, .address = "198.18.1.1", .up = true, .draining = false, .weight = 100, .configured_weight = 100});
    CHECK(w.backends[1] ==
          metrics::BackendLabels{
              .id = 8, .address = "198.18.1.2", .up = true, .draining = true, .weight = 0, .configured_weight = 50});
    CHECK(w.backends[2] ==
          metrics::BackendLabels{
              .id = 9, .address = "198.18.1.3", .up = false, .draining = false, .weight = 0, .configured_weight = 100});
    // Checked but no result yet: not up.
    CHECK_FALSE(w.backends[3].up);
    CHECK_FALSE(w.backends[3].maint);
    // In maint: the health still shows up, maint says why it gets nothing.
    CHECK(w.backends[4] == metrics::BackendLabels{.id = 13,
                                                  .address = "198.18.1.5",
                                                  .up = true,
                                                  .draining = false,
                                                  .maint = true,
                                                  .weight = 0,
                                                  .configured_weight = 100});

    const auto& s = table.services[1];
    CHECK(s.id == 2);
    CHECK(s.vip == "2001:db8::1");  // canonical text, whatever the input looked like
    CHECK(s.port == "0");
    CHECK(s.protocol == "udp");
    REQUIRE(s.backends.size() == 2);
    CHECK(s.backends[0].up);
    CHECK(s.backends[0].address == "2001:db8::a");
    CHECK_FALSE(s.backends[1].up);
}

TEST_CASE("metrics labels: an empty plan gives an empty table", "[metrics]") {
    CHECK(metrics::make_label_table({}).services.empty());
}
