// summarize() and the BPF map memory estimate behind it.
#include <catch2/catch.hpp>

#include "config/map_memory.h"
#include "config/summary.h"
#include "config_test_support.h"
#include "julier/abi.h"

using namespace julier::config;
using julier::config::testing::lines;
using julier::config::testing::parse;

namespace {

std::uint64_t up8(std::uint64_t n) { return (n + 7) / 8 * 8; }

const MapMemory& map_named(const std::vector<MapMemory>& maps, const std::string& name) {
    for (const auto& m : maps)
        if (m.name == name) return m;
    FAIL("no map " << name);
    return maps.front();
}

}  // namespace

TEST_CASE("map memory follows the kernel's layout for each map kind", "[config]") {
    Limits l;
    l.max_services = 3;
    l.max_backends = 5;
    l.ring_capacity = 7;
    l.max_flows = 9;
    const unsigned cpus = 4;
    const auto maps = estimate_map_memory(l, cpus);

    // Arrays: one 8-byte-aligned value per entry, both sides.
    CHECK(map_named(maps, "jl_rings").entries == 14);
    CHECK(map_named(maps, "jl_rings").bytes == 14 * 8);
    CHECK(map_named(maps, "jl_backends").bytes == 10 * up8(sizeof(jl_backend)));
    // Per-CPU arrays: a pointer per entry and a value per CPU.
    CHECK(map_named(maps, "jl_service_stats").bytes == 3 * (8 + cpus * up8(sizeof(jl_service_traffic))));
    CHECK(map_named(maps, "jl_backend_stats").bytes == 5 * (8 + cpus * up8(sizeof(jl_backend_traffic))));
    CHECK(map_named(maps, "jl_counters").entries == JL_CNT_COUNT);
    // Hashes: 48-byte element header + key + value per entry, 16 bytes per bucket,
    // buckets rounded up to a power of two (6 -> 8, 9 -> 16).
    CHECK(map_named(maps, "jl_vips").bytes == 6 * (48 + up8(sizeof(jl_vip_key)) + up8(sizeof(jl_vip))) + 8 * 16);
    CHECK(map_named(maps, "jl_flows").bytes == 9 * (48 + up8(sizeof(jl_flow_key)) + up8(sizeof(jl_flow))) + 16 * 16);

    std::uint64_t sum = 0;
    for (const auto& m : maps) sum += m.bytes;
    CHECK(total_bytes(maps) == sum);
}

TEST_CASE("with default limits the ring array alone takes 64 MiB", "[config]") {
    // 2 sides x 64 rings of 65537 slots x 8 bytes (a u32 value is stored in an 8-byte cell).
    const auto maps = estimate_map_memory(Limits{}, 1);
    CHECK(map_named(maps, "jl_rings").bytes == 2ull * 64 * 65537 * 8);
}

TEST_CASE("summary lists services, backends, rings and memory", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.1",
        "    port: 80",
        "    ring_size: 1009",
        "    backends: [198.18.0.20, {address: 198.18.0.21, state: drain}]",
        "  - {name: dns6, vip: \"2001:db8::53\", port: 0, protocol: udp, health: {kind: none},",
        "     ring_size: 211, hash: destination_port, answer_ping: true, backends: [\"2001:db8::20\"]}",
    }));
    REQUIRE(r.ok());
    const std::string text = summarize(*r.catalogue, 2);
    INFO(text);
    // A hash other than the 5-tuple is named on its service's line, the default is not.
    CHECK_THAT(text, Catch::Contains("no health check  hash destination_port  answers ping\n"));
    // So is answer_ping, when on.
    CHECK_THAT(text, Catch::Contains("answers ping"));
    CHECK(text.find("answers ping") == text.rfind("answers ping"));
    CHECK_THAT(text, !Catch::Contains("hash 5tuple"));
    CHECK_THAT(text, Catch::StartsWith("t.yaml: 2 services, 3 backends (1 draining)\n"));
    CHECK_THAT(text, Catch::Contains("interfaces: eth0 (native)"));
    CHECK_THAT(text, Catch::Contains("web "));
    CHECK_THAT(text, Catch::Contains("198.19.0.1:80/tcp"));
    CHECK_THAT(text, Catch::Contains("[2001:db8::53]:*/udp"));
    CHECK_THAT(text, Catch::Contains("no health check"));
    CHECK_THAT(text, Catch::Contains("ring slots 1220/4194368 per side"));
    CHECK_THAT(text, Catch::Contains("BPF map memory (estimate for 2 CPUs)"));
    CHECK_THAT(text, Catch::Contains("jl_flows"));
}
