// One backend state, decided once (plan::decide_backend) and shown the same way by
// the plan, the metrics labels, the control protocol and julierctl.
#include <catch2/catch.hpp>

#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/render.h"
#include "daemon/views.h"
#include "metrics/label_table.h"
#include "plan/backend_state.h"
#include "plan/plan.h"
#include "plan_test_support.h"

using namespace julier;
using namespace julier::plan_test;
using health::State;
using plan::BackendRole;

TEST_CASE("backend state: unchecked, draining and down look the same in plan, metrics and julierctl",
          "[plan][metrics][daemon][cli]") {
    auto unchecked_service = service("static", "198.19.0.2", 80, {backend("198.18.0.30")});  // health kind none
    auto web = service(
        "web", "198.19.0.1", 80,
        {backend("198.18.0.20"), backend("198.18.0.21", 100, config::BackendState::drain), backend("198.18.0.22")});
    web.health.kind = config::HealthKind::tcp;
    const auto cat = catalogue({unchecked_service, web});

    auto runtime = all_resolved(cat);
    // The checker's snapshot: nothing about the unchecked backend (no verdict yet).
    runtime.health["web"][ip("198.18.0.20")] = health::Verdict{State::up, 1.0, "2 consecutive checks passed"};
    runtime.health["web"][ip("198.18.0.21")] = health::Verdict{State::up, 1.0, "2 consecutive checks passed"};
    runtime.health["web"][ip("198.18.0.22")] = health::Verdict{State::down, 0.0, "connection refused"};
    const auto p = plan::make_plan(cat, runtime);

    struct Expected {
        const char* service;
        const char* address;
        BackendRole role;
        State health;
        const char* state_word;
        const char* health_word;
        bool up_metric;
        bool draining_metric;
    };
    const Expected cases[] = {
        {"static", "198.18.0.30", BackendRole::in_ring, State::up, "active", "up", true, false},  // unchecked
        {"web", "198.18.0.21", BackendRole::draining, State::up, "drain", "up", true, true},
        {"web", "198.18.0.22", BackendRole::down, State::down, "down", "down", false, false},
    };

    const auto labels = metrics::make_label_table(p);
    const auto infos = daemon::backend_infos(p, runtime.health, nullptr);
    const auto table = cli::render_backends(infos);
    for (const auto& e : cases) {
        INFO(e.service << " " << e.address);
        // The plan.
        const auto& planned = find_backend(*p.find(e.service), e.address);
        CHECK(planned.role == e.role);
        CHECK(planned.health == e.health);

        // The metrics labels.
        const metrics::BackendLabels* label = nullptr;
        for (const auto& s : labels.services) {
            for (const auto& b : s.backends) {
                if (s.name == e.service && b.address == e.address) label = &b;
            }
        }
        REQUIRE(label != nullptr);
        CHECK(label->up == e.up_metric);
        CHECK(label->draining == e.draining_metric);

        // The protocol's BackendInfo, typed and as words on the wire.
        const daemon::protocol::BackendInfo* info = nullptr;
        for (const auto& i : infos) {
            if (i.service == e.service && i.address == e.address) info = &i;
        }
        REQUIRE(info != nullptr);
        CHECK(info->state == e.role);
        CHECK(info->health == e.health);
        const nlohmann::json wire = *info;
        CHECK(wire["state"] == e.state_word);
        CHECK(wire["health"] == e.health_word);

        // julierctl's row: the same words in the HEALTH and STATE columns.
        std::string row;
        std::istringstream lines(table);
        for (std::string line; std::getline(lines, line);) {
            if (line.find(e.address) != std::string::npos) row = line;
        }
        CHECK_THAT(row, Catch::Contains(std::string(e.health_word) + "  ") &&
                            Catch::Contains(std::string(" ") + e.state_word + " "));
    }
}

TEST_CASE("backend state: the decision's table", "[plan]") {
    const neigh::Resolution resolved{direct(ip("198.18.0.20")), ""};
    const neigh::Resolution unanswered{std::nullopt, "did not answer ARP on eth0"};
    auto facts = [&](State verdict, bool checked) {
        plan::BackendFacts f;
        f.verdict = health::Verdict{verdict, 1.0, {}};
        f.checked = checked;
        f.configured_weight = 100;
        f.next_hop = &resolved;
        return f;
    };
    // Checked: the verdict decides; unchecked: up without a verdict.
    CHECK(plan::decide_backend(facts(State::up, true)).role == BackendRole::in_ring);
    CHECK(plan::decide_backend(facts(State::unknown, true)).role == BackendRole::pending);
    CHECK(plan::decide_backend(facts(State::down, true)).role == BackendRole::down);
    const auto unchecked = plan::decide_backend(facts(State::unknown, false));
    CHECK(unchecked.role == BackendRole::in_ring);
    CHECK(unchecked.health == State::up);
    CHECK(unchecked.weight == 100);

    // Slow start scales the weight of an up backend; a zero share drains it.
    auto ramping = facts(State::up, true);
    ramping.verdict.weight_factor = 0.25;
    CHECK(plan::decide_backend(ramping).weight == 25);
    ramping.verdict.weight_factor = 0.0;
    CHECK(plan::decide_backend(ramping).role == BackendRole::draining);

    // The operator's word beats the catalogue's; down beats drained.
    auto drained = facts(State::up, true);
    drained.operator_override.state = config::BackendState::drain;
    CHECK(plan::decide_backend(drained).role == BackendRole::draining);
    CHECK(plan::decide_backend(drained).drain_source == "operator");
    drained.verdict.state = State::down;
    CHECK(plan::decide_backend(drained).role == BackendRole::down);
    auto undrained = facts(State::up, true);
    undrained.configured = config::BackendState::drain;
    undrained.operator_override.state = config::BackendState::active;
    CHECK(plan::decide_backend(undrained).role == BackendRole::in_ring);
    CHECK(plan::decide_backend(undrained).state_source == "operator");
    CHECK(plan::decide_backend(facts(State::up, true)).state_source == "config");

    // No next hop: unresolved whatever the health, even failing open.
    auto lost = facts(State::up, true);
    lost.next_hop = &unanswered;
    lost.fail_open = true;
    CHECK(plan::decide_backend(lost).role == BackendRole::unresolved);
    CHECK(plan::decide_backend(lost).problem == "did not answer ARP on eth0");
    lost.next_hop = nullptr;
    CHECK(plan::decide_backend(lost).problem == "next hop not resolved yet");

    // Failing open: a down backend takes its full weight; a drained one does not.
    auto open = facts(State::down, true);
    open.fail_open = true;
    CHECK(plan::decide_backend(open).role == BackendRole::in_ring);
    CHECK(plan::decide_backend(open).weight == 100);
    open.operator_override.state = config::BackendState::drain;
    CHECK(plan::decide_backend(open).role == BackendRole::down);
}

TEST_CASE("backend state: the operator's weight and maint", "[plan]") {
    const neigh::Resolution resolved{direct(ip("198.18.0.20")), ""};
    const neigh::Resolution unanswered{std::nullopt, "did not answer ARP on eth0"};
    auto facts = [&](State state) {
        plan::BackendFacts f;
        f.verdict = health::Verdict{state, 1.0, {}};
        f.configured_weight = 100;
        f.next_hop = &resolved;
        return f;
    };

    // A weight replaces the catalogue's, slow start included; 0 keeps flows, no new ones.
    auto weighted = facts(State::up);
    weighted.operator_override.weight = 7;
    auto d = plan::decide_backend(weighted);
    CHECK(d.role == BackendRole::in_ring);
    CHECK(d.weight == 7);
    CHECK(d.set_weight == 7);
    CHECK(d.weight_source == "operator");
    CHECK(plan::decide_backend(facts(State::up)).weight_source == "config");
    weighted.verdict.weight_factor = 0.5;
    CHECK(plan::decide_backend(weighted).weight == 4);
    weighted.operator_override.weight = 0;
    CHECK(plan::decide_backend(weighted).role == BackendRole::draining);
    CHECK(plan::decide_backend(weighted).weight == 0);

    // Failing open takes the weight in force, and a weight of 0 stays out.
    auto open = facts(State::down);
    open.fail_open = true;
    open.operator_override.weight = 9;
    CHECK(plan::decide_backend(open).weight == 9);
    open.operator_override.weight = 0;
    CHECK(plan::decide_backend(open).role == BackendRole::down);

    // maint: forced down whatever the health, the drain or failing open.
    for (const State health : {State::up, State::unknown, State::down}) {
        auto forced = facts(health);
        forced.operator_override.maint = true;
        forced.operator_override.state = config::BackendState::drain;
        d = plan::decide_backend(forced);
        CHECK(d.role == BackendRole::maint);
        CHECK(d.weight == 0);
        CHECK(d.state_source == "operator");
        CHECK(d.health == health);  // the verdict is still shown as it is
        CHECK(d.problem.empty());
        forced.fail_open = true;
        CHECK(plan::decide_backend(forced).role == BackendRole::maint);
    }
    // In maint without a next hop: still maint, the problem said.
    auto lost = facts(State::up);
    lost.operator_override.maint = true;
    lost.next_hop = &unanswered;
    CHECK(plan::decide_backend(lost).role == BackendRole::maint);
    CHECK(plan::decide_backend(lost).problem == "did not answer ARP on eth0");
    CHECK(plan::state_word(BackendRole::maint) == "maint");
    CHECK(plan::role_from_state_word("maint") == BackendRole::maint);
}
