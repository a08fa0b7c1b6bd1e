// Probe phases: deterministic, spread over the interval, stable across reloads.
#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "health/schedule.h"

using namespace julier::health;
using namespace std::chrono_literals;

TEST_CASE("health: phase offsets scale the hash to the interval", "[health]") {
    CHECK(phase_offset(0, 1000ns) == 0ns);
    CHECK(phase_offset(~0ull, 1000ns) == 999ns);
    CHECK(phase_offset(1ull << 63, 1000ns) == 500ns);
    CHECK(phase_offset(1ull << 62, 2s) == 500ms);
    CHECK(phase_offset(12345, 0ns) == 0ns);
}

TEST_CASE("health: the hash is stable and separates similar names", "[health]") {
    CHECK(stable_hash("web/198.18.0.1") == stable_hash("web/198.18.0.1"));
    CHECK(stable_hash("svc-1") != stable_hash("svc-2"));
    CHECK(stable_hash("") != stable_hash(std::string(1, '\0')));
}

TEST_CASE("health: 10000 targets spread evenly over the interval", "[health]") {
    constexpr int targets = 10000;
    constexpr int buckets = 20;
    std::array<int, buckets> counts{};
    const auto interval = std::chrono::duration_cast<Clock::duration>(1s);
    for (int i = 0; i < targets; ++i) {
        std::string key = "service-" + std::to_string(i / 100) + "/198.18." + std::to_string(i % 100) + ".1";
        auto offset = phase_offset(stable_hash(key), interval);
        REQUIRE(offset >= Clock::duration::zero());
        REQUIRE(offset < interval);
        ++counts[static_cast<std::size_t>(offset * buckets / interval)];
    }
    // Uniform: 500 per 50 ms bucket; a binomial sd is about 22, allow 5 of them.
    for (int count : counts) {
        CHECK(count > 390);
        CHECK(count < 610);
    }
}

TEST_CASE("health: the next slot is the first one not before the given time", "[health]") {
    const TimePoint epoch = TimePoint{} + 100s;
    const auto interval = std::chrono::duration_cast<Clock::duration>(1s);
    const auto offset = std::chrono::duration_cast<Clock::duration>(300ms);
    CHECK(next_slot(epoch, interval, offset, epoch) == epoch + 300ms);
    CHECK(next_slot(epoch, interval, offset, epoch - 50s) == epoch + 300ms);
    CHECK(next_slot(epoch, interval, offset, epoch + 300ms) == epoch + 300ms);
    CHECK(next_slot(epoch, interval, offset, epoch + 301ms) == epoch + 1300ms);
    CHECK(next_slot(epoch, interval, offset, epoch + 5300ms) == epoch + 5300ms);
    CHECK(next_slot(epoch, interval, offset, epoch + 5300ms + 1ns) == epoch + 6300ms);
}
