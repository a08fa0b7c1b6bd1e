// The manager: scheduling, transitions, reloads and slow start, end to end with
// real probes against loopback servers and short intervals.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "health/address.h"
#include "health/manager.h"
#include "health_test_servers.h"

using namespace julier::health;
using namespace julier::health::testing;
using julier::common::IpAddress;
using julier::config::HealthKind;

namespace {

Target tcp_target(const std::string& service, const asio::ip::address& address, std::uint16_t port) {
    Target target;
    target.service = service;
    target.address = from_asio(address);
    target.port = port;
    target.check.kind = HealthKind::tcp;
    target.check.interval = std::chrono::milliseconds(20);
    target.check.timeout = std::chrono::milliseconds(15);
    target.check.rise = 2;
    target.check.fall = 2;
    return target;
}

struct Recorder {
    std::vector<HealthEvent> events;
    std::vector<double> weights;

    explicit Recorder(Manager& manager) {
        manager.on_transition([this](const HealthEvent& event) { events.push_back(event); });
        manager.on_weight([this](const std::string&, const IpAddress&, double factor) { weights.push_back(factor); });
    }
    std::size_t count(State to) const {
        return static_cast<std::size_t>(
            std::count_if(events.begin(), events.end(), [&](const HealthEvent& e) { return e.to == to; }));
    }
};

}  // namespace

TEST_CASE("health manager: a backend goes up, then down when it stops answering", "[health]") {
    asio::io_context io;
    Manager manager(io);
    Recorder recorder(manager);
    TcpServer server(io, kLoopback4);
    Target target = tcp_target("web", kLoopback4, server.port());
    std::size_t probes = 0, passed = 0, refused = 0;
    manager.on_probe_result([&](const Target&, const Result& r) {
        ++probes;
        passed += r.ok ? 1 : 0;
        refused += r.failure == Failure::refused ? 1 : 0;
    });
    manager.set_targets({target});
    CHECK(manager.status("web", target.address)->state == State::unknown);

    REQUIRE(run_until(
        io, [&] { return recorder.count(State::up) == 1; }, 2000ms));
    const HealthEvent& up = recorder.events.at(0);
    CHECK(up.service == "web");
    CHECK(up.address == target.address);
    CHECK(up.from == State::unknown);
    CHECK(up.to == State::up);
    CHECK(up.reason == "2 consecutive checks passed");
    CHECK(server.accepted() >= 1);
    CHECK(manager.weight_factor("web", target.address) == 1.0);  // start-up: no slow start

    server.close();
    REQUIRE(run_until(
        io, [&] { return recorder.count(State::down) == 1; }, 2000ms));
    const HealthEvent& down = recorder.events.at(1);
    CHECK(down.from == State::up);
    CHECK(down.reason == "connection refused (2 consecutive failures)");

    auto status = manager.status("web", target.address);
    REQUIRE(status);
    CHECK(status->state == State::down);
    CHECK(status->weight_factor == 0.0);
    REQUIRE(status->last);
    CHECK(status->last->failure == Failure::refused);

    CHECK(passed >= 2);
    CHECK(refused >= 2);
    CHECK(probes == passed + refused);
    CHECK(recorder.count(State::up) == 1);
    CHECK(recorder.count(State::down) == 1);

    // The snapshot holds the same verdict, in one call for every backend.
    const auto snapshot = manager.snapshot();
    REQUIRE(snapshot.count("web") == 1);
    const auto& verdict = snapshot.at("web").at(target.address);
    CHECK(verdict.state == State::down);
    CHECK(verdict.reason == status->reason);
}

TEST_CASE("health manager: probes run every interval", "[health]") {
    asio::io_context io;
    Manager manager(io);
    TcpServer server(io, kLoopback4);
    std::vector<TimePoint> scheduled;
    manager.on_probe_start([&](TimePoint slot, TimePoint) { scheduled.push_back(slot); });
    manager.set_targets({tcp_target("web", kLoopback4, server.port())});
    run_for(io, 250ms);
    REQUIRE(scheduled.size() >= 8);
    // Slots sit on the interval's grid. A slot whose previous probe is still in
    // flight (a loaded machine) is skipped, not moved: the gap is then a multiple.
    std::size_t adjacent = 0;
    for (std::size_t i = 1; i < scheduled.size(); ++i) {
        const auto gap = scheduled[i] - scheduled[i - 1];
        CHECK(gap > std::chrono::nanoseconds(0));
        CHECK(gap % std::chrono::milliseconds(20) == std::chrono::nanoseconds(0));
        if (gap == std::chrono::milliseconds(20)) ++adjacent;
    }
    CHECK(adjacent >= scheduled.size() / 2);
}

TEST_CASE("health manager: many targets start spread over the interval, not in a burst", "[health]") {
    asio::io_context io;
    Manager manager(io);
    TcpServer server(io, kLoopback4);
    std::vector<Target> targets;
    for (int i = 0; i < 200; ++i) {
        Target target = tcp_target("svc-" + std::to_string(i), kLoopback4, server.port());
        target.check.interval = std::chrono::milliseconds(100);
        target.check.timeout = std::chrono::milliseconds(50);
        targets.push_back(target);
    }
    std::vector<TimePoint> starts;
    manager.on_probe_start([&](TimePoint slot, TimePoint) { starts.push_back(slot); });
    manager.set_targets(targets);
    REQUIRE(run_until(
        io, [&] { return starts.size() >= 200; }, 2000ms));
    // The first round of 200 slots: spread over ~100 ms, 10 ms windows hold ~20 each.
    std::vector<TimePoint> first(starts.begin(), starts.begin() + 200);
    std::sort(first.begin(), first.end());
    CHECK(first.back() - first.front() > std::chrono::milliseconds(80));
    std::map<long, int> per_window;
    for (auto slot : first)
        ++per_window[std::chrono::duration_cast<std::chrono::milliseconds>(slot - first.front()).count() / 10];
    for (const auto& [window, count] : per_window) CHECK(count < 50);
}

TEST_CASE("health manager: a reload keeps the state of targets that remain", "[health]") {
    asio::io_context io;
    Manager manager(io);
    Recorder recorder(manager);
    TcpServer server_a(io, kLoopback4);
    TcpServer server_b(io, kLoopback6);
    Target a = tcp_target("web", kLoopback4, server_a.port());
    manager.set_targets({a});
    REQUIRE(run_until(
        io, [&] { return recorder.count(State::up) == 1; }, 2000ms));

    // Same target with other settings, plus a new one.
    a.check.rise = 5;
    a.check.slow_start = std::chrono::milliseconds(400);
    Target b = tcp_target("web", kLoopback6, server_b.port());
    b.check.slow_start = std::chrono::milliseconds(400);
    manager.set_targets({a, b});
    CHECK(manager.size() == 2);
    CHECK(manager.status("web", a.address)->state == State::up);
    CHECK(manager.status("web", b.address)->state == State::unknown);

    // b was added after start-up: its first up ramps, in steps, up to full weight.
    REQUIRE(run_until(
        io, [&] { return recorder.count(State::up) == 2; }, 2000ms));
    CHECK(recorder.events.back().address == b.address);
    CHECK(manager.weight_factor("web", b.address) < 0.5);
    REQUIRE(run_until(
        io, [&] { return !recorder.weights.empty() && recorder.weights.back() == 1.0; }, 2000ms));
    CHECK(recorder.weights.size() >= 2);
    CHECK(std::is_sorted(recorder.weights.begin(), recorder.weights.end()));
    CHECK(recorder.weights.front() > 0.0);
    CHECK(manager.weight_factor("web", b.address) == 1.0);
    CHECK(manager.weight_factor("web", a.address) == 1.0);  // a never ramped
    CHECK(recorder.count(State::up) == 2);                  // a did not go up again

    // Drop a: forgotten, no event.
    auto events_before = recorder.events.size();
    manager.set_targets({b});
    CHECK(manager.size() == 1);
    CHECK_FALSE(manager.status("web", a.address));
    run_for(io, 60ms);
    CHECK(recorder.events.size() == events_before);
    auto statuses = manager.statuses();
    REQUIRE(statuses.size() == 1);
    CHECK(statuses[0].address == b.address);
}

TEST_CASE("health manager: kind none is up without probes", "[health]") {
    asio::io_context io;
    Manager manager(io);
    Recorder recorder(manager);
    Target target = tcp_target("dns", kLoopback4, 53);
    target.check.kind = HealthKind::none;
    std::vector<TimePoint> starts;
    manager.on_probe_start([&](TimePoint slot, TimePoint) { starts.push_back(slot); });
    manager.set_targets({target});
    CHECK(recorder.events.empty());  // delivered from the io_context, not from set_targets
    REQUIRE(run_until(
        io, [&] { return recorder.events.size() == 1; }, 1000ms));
    CHECK(recorder.events[0].to == State::up);
    CHECK(recorder.events[0].reason == "no health check configured");
    CHECK(manager.weight_factor("dns", target.address) == 1.0);
    run_for(io, 60ms);
    CHECK(starts.empty());
}

TEST_CASE("health manager: stopping with probes in flight is clean", "[health]") {
    asio::io_context io;
    std::vector<Target> targets;
    StalledTcpServer stalled(io, kLoopback4);
    for (int i = 0; i < 20; ++i) {
        Target target = tcp_target("svc-" + std::to_string(i), kLoopback4, stalled.port());
        target.check.timeout = std::chrono::milliseconds(500);  // longer than the test: still in flight
        target.check.interval = std::chrono::milliseconds(600);
        targets.push_back(target);
    }
    {
        Manager manager(io);
        Recorder recorder(manager);
        manager.set_targets(targets);
        run_for(io, 700ms);
        CHECK(recorder.events.empty());
    }
    run_for(io, 50ms);  // handlers of the destroyed manager find nothing to do
}
