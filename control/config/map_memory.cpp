#include "config/map_memory.h"

#include <fmt/format.h>

#include <bit>

#include "julier/abi.h"

namespace julier::config {

namespace {

// struct htab_elem before the key on 64-bit kernels: hash node or free-list link
// (16), LRU node or per-CPU pointer (24), hash (4), padded to 8.
constexpr std::uint64_t htab_elem_header = 48;
constexpr std::uint64_t bucket_bytes = 16;  // struct bucket: list head + spinlock

constexpr std::uint64_t round8(std::uint64_t n) { return (n + 7) & ~std::uint64_t{7}; }

MapMemory array(const char* name, std::uint64_t entries, std::uint64_t value_size) {
    return {name, entries, entries * round8(value_size)};
}

MapMemory percpu_array(const char* name, std::uint64_t entries, std::uint64_t value_size, unsigned cpus) {
    // A pointer per entry plus one value per possible CPU.
    return {name, entries, entries * (8 + round8(value_size) * cpus)};
}

MapMemory hash(const char* name, std::uint64_t entries, std::uint64_t key_size, std::uint64_t value_size) {
    const std::uint64_t element = htab_elem_header + round8(key_size) + round8(value_size);
    const std::uint64_t buckets = std::bit_ceil(entries);
    return {name, entries, entries * element + buckets * bucket_bytes};
}

}  // namespace

std::vector<MapMemory> estimate_map_memory(const Limits& l, unsigned cpus) {
    const std::uint64_t sides = JL_SIDES;
    return {
        hash("jl_vips", sides * l.max_services, sizeof(jl_vip_key), sizeof(jl_vip)),
        hash("jl_frag_vips", sides * l.max_services, sizeof(jl_vip_key), sizeof(jl_vip)),
        array("jl_rings", sides * l.ring_capacity, sizeof(__u32)),
        array("jl_backends", sides * l.max_backends, sizeof(jl_backend)),
        hash("jl_flows", l.max_flows, sizeof(jl_flow_key), sizeof(jl_flow)),
        percpu_array("jl_service_stats", l.max_services, sizeof(jl_service_traffic), cpus),
        percpu_array("jl_backend_stats", l.max_backends, sizeof(jl_backend_traffic), cpus),
        percpu_array("jl_counters", JL_CNT_COUNT, sizeof(jl_traffic), cpus),
        array("jl_settings", sides, sizeof(jl_settings)),
        percpu_array("jl_flood_window", 1, sizeof(jl_flood_window), cpus),
        percpu_array("jl_icmp_window", 1, sizeof(jl_icmp_window), cpus),
    };
}

std::uint64_t total_bytes(const std::vector<MapMemory>& maps) {
    std::uint64_t total = 0;
    for (const MapMemory& m : maps) total += m.bytes;
    return total;
}

std::string bytes_text(std::uint64_t b) {
    if (b >= (std::uint64_t{1} << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(b) / (1 << 30));
    if (b >= (std::uint64_t{1} << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1 << 20));
    if (b >= (std::uint64_t{1} << 10)) return fmt::format("{:.1f} KiB", static_cast<double>(b) / (1 << 10));
    return fmt::format("{} B", b);
}

}  // namespace julier::config
