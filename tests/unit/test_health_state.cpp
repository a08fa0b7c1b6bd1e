// The rise/fall state machine and slow start, with time passed in.
#include <catch2/catch.hpp>

#include <optional>

#include "health/backend_health.h"

using namespace julier::health;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + 1000s;

// Feeds results ('+' pass, '-' fail), one per second from t0; returns the
// transitions as "from>to@index".
std::vector<std::string> feed(BackendHealth& health, const std::string& results, TimePoint start = t0) {
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < results.size(); ++i) {
        bool ok = results[i] == '+';
        auto transition = health.record(ok, ok ? "" : "connection refused", start + std::chrono::seconds(i));
        if (transition)
            seen.push_back(std::string(to_string(transition->from)) + ">" + std::string(to_string(transition->to)) +
                           "@" + std::to_string(i));
    }
    return seen;
}

}  // namespace

TEST_CASE("health: unknown goes up after rise passes and down after fall failures", "[health]") {
    BackendHealth up(Thresholds{2, 3, 0ms});
    CHECK(up.state() == State::unknown);
    CHECK(feed(up, "++") == std::vector<std::string>{"unknown>up@1"});
    CHECK(up.reason() == "2 consecutive checks passed");
    CHECK(up.since() == t0 + 1s);

    BackendHealth down(Thresholds{2, 3, 0ms});
    CHECK(feed(down, "---") == std::vector<std::string>{"unknown>down@2"});
    CHECK(down.reason() == "connection refused (3 consecutive failures)");

    // A failure between passes starts the count again.
    BackendHealth mixed(Thresholds{2, 3, 0ms});
    CHECK(feed(mixed, "+-+-++") == std::vector<std::string>{"unknown>up@5"});
}

TEST_CASE("health: up and down follow rise and fall exactly, each transition once", "[health]") {
    BackendHealth health(Thresholds{3, 2, 0ms});
    //               0123456789012345
    auto seen = feed(health, "+++++-+--+-+++++");
    CHECK(seen == std::vector<std::string>{"unknown>up@2", "up>down@8", "down>up@13"});
    CHECK(health.state() == State::up);
    CHECK(health.consecutive_passes() == 5);
    CHECK(health.consecutive_failures() == 0);
}

TEST_CASE("health: a single-result threshold reports the probe's reason alone", "[health]") {
    BackendHealth health(Thresholds{1, 1, 0ms});
    auto first = health.record(true, "", t0);
    REQUIRE_FALSE(first);  // rise = fall = 1 asks for 2 passes to go up
    auto up = health.record(true, "", t0 + 1s);
    REQUIRE(up);
    CHECK(up->reason == "2 consecutive checks passed");
    auto down = health.record(false, "status 503 (expected 200)", t0 + 2s);
    REQUIRE(down);
    CHECK(down->reason == "status 503 (expected 200)");
    CHECK(down->from == State::up);
    CHECK(down->to == State::down);
    CHECK(down->at == t0 + 2s);
}

TEST_CASE("health: flapping results never move a backend on every probe", "[health]") {
    std::string alternating;
    for (int i = 0; i < 100; ++i) alternating += i % 2 == 0 ? '-' : '+';
    for (std::uint32_t rise = 1; rise <= 3; ++rise) {
        for (std::uint32_t fall = 1; fall <= 3; ++fall) {
            CAPTURE(rise, fall);
            for (std::string settle : {"++++", "----"}) {
                BackendHealth health(Thresholds{rise, fall, 0ms});
                feed(health, settle);
                State settled = health.state();
                auto seen = feed(health, alternating, t0 + 100s);
                // At most the one move the first result may complete; never a pair.
                CHECK(seen.size() <= 1);
                if (rise > 1 && fall > 1) {
                    CHECK(seen.empty());
                    CHECK(health.state() == settled);
                }
            }
        }
    }
}

TEST_CASE("health: weight factor is 0 unless up", "[health]") {
    BackendHealth health(Thresholds{2, 2, 0ms});
    CHECK(health.weight_factor(t0) == 0.0);
    feed(health, "--");
    CHECK(health.state() == State::down);
    CHECK(health.weight_factor(t0 + 5s) == 0.0);
    feed(health, "++", t0 + 10s);
    CHECK(health.weight_factor(t0 + 11s) == 1.0);  // no slow start configured
    CHECK_FALSE(health.ramp_end());
}

TEST_CASE("health: slow start ramps linearly after coming back from down", "[health]") {
    BackendHealth health(Thresholds{2, 2, 10s});
    feed(health, "++");  // up at t0+1s: the start-up case, no ramp
    CHECK(health.weight_factor(t0 + 1s) == 1.0);
    CHECK_FALSE(health.ramp_end());

    feed(health, "--", t0 + 10s);  // down at t0+11s
    CHECK(health.state() == State::down);
    feed(health, "++", t0 + 20s);  // up at t0+21s
    TimePoint up = t0 + 21s;
    REQUIRE(health.state() == State::up);
    REQUIRE(health.ramp_end());
    CHECK(*health.ramp_end() == up + 10s);
    CHECK(health.weight_factor(up) == 0.0);
    CHECK(health.weight_factor(up + 1s) == Approx(0.1));
    CHECK(health.weight_factor(up + 2500ms) == Approx(0.25));
    CHECK(health.weight_factor(up + 5s) == Approx(0.5));
    CHECK(health.weight_factor(up + 9s) == Approx(0.9));
    CHECK(health.weight_factor(up + 10s) == 1.0);
    CHECK(health.weight_factor(up + 60s) == 1.0);

    // Going down in the middle of a ramp ends it; the next up starts from 0 again.
    feed(health, "--", up + 3s);
    CHECK(health.weight_factor(up + 4s) == 0.0);
    feed(health, "++", up + 5s);
    CHECK(health.weight_factor(up + 6s) == 0.0);
    CHECK(health.weight_factor(up + 8s) == Approx(0.2));
}

TEST_CASE("health: a backend added after start-up ramps on its first up", "[health]") {
    BackendHealth health(Thresholds{1, 2, 4s}, /*ramp_first_up=*/true);
    auto up = health.record(true, "", t0);
    REQUIRE(up);
    CHECK(health.weight_factor(t0) == 0.0);
    CHECK(health.weight_factor(t0 + 1s) == Approx(0.25));
    CHECK(health.weight_factor(t0 + 4s) == 1.0);
}

TEST_CASE("health: new thresholds keep state and counts", "[health]") {
    BackendHealth health(Thresholds{2, 3, 0ms});
    feed(health, "++--");
    REQUIRE(health.state() == State::up);
    health.set_thresholds(Thresholds{2, 2, 0ms});
    CHECK(health.state() == State::up);
    // Two failures were counted under fall 3; the next one goes down under fall 2.
    auto down = health.record(false, "timeout", t0 + 10s);
    REQUIRE(down);
    CHECK(down->reason == "timeout (3 consecutive failures)");
}

TEST_CASE("health: kind none is up at once at full weight", "[health]") {
    BackendHealth health(Thresholds{2, 3, 10s}, true);
    health.assume_up("no health check configured", t0);
    CHECK(health.state() == State::up);
    CHECK(health.weight_factor(t0) == 1.0);
    CHECK(health.reason() == "no health check configured");
}

TEST_CASE("health: state names", "[health]") {
    CHECK(to_string(State::unknown) == "unknown");
    CHECK(to_string(State::up) == "up");
    CHECK(to_string(State::down) == "down");
    CHECK(state_from_string("down") == State::down);
    CHECK_FALSE(state_from_string("sideways"));
}
