// What julierctl services/backends show, from a plan, health reasons and counters.
#include <catch2/catch.hpp>

#include "config/catalogue.h"
#include "daemon/views.h"

using julier::common::IpAddress;
using julier::health::State;
using julier::plan::BackendRole;
using namespace julier;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

plan::PlannedBackend planned(std::uint32_t id, const char* address, std::uint32_t configured, std::uint32_t weight,
                             BackendRole role, State health, std::string drain_source = {}, std::string problem = {}) {
    plan::PlannedBackend b;
    b.health = health;
    b.id = id;
    b.address = ip(address);
    b.configured_weight = configured;
    b.set_weight = configured;
    b.weight_source = "config";
    b.state_source = "config";
    b.weight = weight;
    b.role = role;
    b.drain_source = std::move(drain_source);
    b.problem = std::move(problem);
    return b;
}

struct Fixture {
    config::Catalogue catalogue;
    plan::Plan plan;
    health::Snapshot health;
    dataplane::Counters counters;

    Fixture() {
        config::Service web;
        web.name = "web";
        web.vip = ip("198.19.0.1");
        web.port = 80;
        for (const char* a : {"198.18.0.20", "198.18.0.21", "198.18.0.22", "198.18.0.23", "198.18.0.24"}) {
            config::Backend b;
            b.address = ip(a);
            web.backends.push_back(b);
        }
        config::Service dns;
        dns.name = "dns";
        dns.vip = ip("2001:db8:100::53");
        dns.port = 0;
        dns.protocol = config::Protocol::udp;
        dns.forwarding = config::Forwarding::ip6ip6;
        dns.when_all_down = config::WhenAllDown::keep;
        config::Backend d;
        d.address = ip("2001:db8::53");
        dns.backends.push_back(d);
        catalogue.services = {web, dns};

        plan::PlannedService pw;
        pw.name = "web";
        pw.id = 3;
        pw.vip.ring_size = 1009;
        pw.backends = {planned(7, "198.18.0.20", 100, 60, BackendRole::in_ring, State::up),
                       planned(8, "198.18.0.21", 100, 0, BackendRole::draining, State::up, "operator"),
                       planned(9, "198.18.0.22", 50, 0, BackendRole::down, State::down),
                       planned(10, "198.18.0.23", 50, 0, BackendRole::unresolved, State::unknown, "",
                               "did not answer ARP on eth0"),
                       planned(500, "198.18.0.24", 50, 0, BackendRole::pending, State::unknown)};
        plan::PlannedService pd;
        pd.name = "dns";
        pd.id = 0;
        pd.vip.ring_size = 0;
        pd.backends = {planned(0, "2001:db8::53", 100, 0, BackendRole::down, State::down)};
        plan.services = {pw, pd};

        health["web"][ip("198.18.0.20")].state = State::up;
        health["web"][ip("198.18.0.21")].state = State::up;
        health["web"][ip("198.18.0.22")] = {State::down, 0.0, "connection refused (3 consecutive failures)"};
        health["dns"][ip("2001:db8::53")].state = State::down;

        counters.services.resize(4);
        counters.services[3] = {100, 6400, 12, 3};
        counters.backends.resize(11);
        counters.backends[7] = {90, 5000};
        counters.backends[8] = {10, 1400};
    }
};

}  // namespace

TEST_CASE("daemon views: state names", "[daemon][views]") {
    CHECK(plan::state_word(BackendRole::in_ring) == "active");
    CHECK(plan::state_word(BackendRole::draining) == "drain");
    CHECK(plan::state_word(BackendRole::pending) == "pending");
    CHECK(plan::state_word(BackendRole::down) == "down");
    CHECK(plan::state_word(BackendRole::unresolved) == "down");
    CHECK(plan::role_from_state_word("active") == BackendRole::in_ring);
    CHECK(plan::role_from_state_word("down") == BackendRole::down);
    CHECK_FALSE(plan::role_from_state_word("in_ring"));
}

TEST_CASE("daemon views: services with ring, backends in ring and traffic", "[daemon][views]") {
    Fixture f;
    const auto rows = daemon::service_infos(f.catalogue, f.plan, &f.counters);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].name == "web");
    CHECK(rows[0].vip == "198.19.0.1");
    CHECK(rows[0].port == 80);
    CHECK(rows[0].protocol == "tcp");
    CHECK(rows[0].forwarding == "l2");
    CHECK(rows[0].when_all_down == "drop");
    CHECK(rows[0].ring_size == 1009);
    CHECK(rows[0].backends == 5);
    CHECK(rows[0].backends_in_ring == 1);
    CHECK(rows[0].packets == 100);
    CHECK(rows[0].bytes == 6400);
    CHECK(rows[0].new_flows == 12);
    CHECK(rows[0].nonsyn_miss == 3);
    CHECK(rows[1].vip == "2001:db8:100::53");
    CHECK(rows[1].protocol == "udp");
    CHECK(rows[1].forwarding == "ip6ip6");
    CHECK(rows[1].when_all_down == "keep");
    CHECK(rows[1].ring_size == 0);
    CHECK(rows[1].packets == 0);  // service id 0 has no traffic

    const auto without = daemon::service_infos(f.catalogue, f.plan, nullptr);
    CHECK(without[0].packets == 0);
}

TEST_CASE("daemon views: backends with weights, health, state, notes and traffic", "[daemon][views]") {
    Fixture f;
    const auto rows = daemon::backend_infos(f.plan, f.health, &f.counters);
    REQUIRE(rows.size() == 6);

    CHECK(rows[0].service == "web");
    CHECK(rows[0].address == "198.18.0.20");
    CHECK(rows[0].weight == 100);
    CHECK(rows[0].config_weight == 100);
    CHECK(rows[0].weight_source == "config");
    CHECK(rows[0].state_source == "config");
    CHECK(rows[0].weight_now == 60);
    CHECK(rows[0].health == State::up);
    CHECK(rows[0].state == BackendRole::in_ring);
    CHECK(rows[0].packets == 90);
    CHECK(rows[0].bytes == 5000);

    CHECK(rows[1].state == BackendRole::draining);
    CHECK(rows[1].drain_source == "operator");
    CHECK(rows[1].packets == 10);

    CHECK(rows[2].health == State::down);
    CHECK(rows[2].state == BackendRole::down);
    CHECK(rows[2].health_reason == "connection refused (3 consecutive failures)");

    CHECK(rows[3].state == BackendRole::unresolved);
    CHECK(rows[3].health == State::unknown);  // the plan's decision, not the snapshot's
    CHECK(rows[3].problem == "did not answer ARP on eth0");

    CHECK(rows[4].state == BackendRole::pending);
    CHECK(rows[4].packets == 0);  // id 500 is past the counters: none yet

    CHECK(rows[5].service == "dns");
    CHECK(rows[5].address == "2001:db8::53");

    const auto only = daemon::backend_infos(f.plan, f.health, &f.counters, std::string("dns"));
    REQUIRE(only.size() == 1);
    CHECK(only[0].service == "dns");
    CHECK(daemon::backend_infos(f.plan, f.health, &f.counters, std::string("nope")).empty());
}
