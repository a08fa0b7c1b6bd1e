// How much kernel memory the forwarder's BPF maps take for given limits. Map
// sizes are fixed at load, so this is the cost of the limits, not of the services.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/catalogue.h"

namespace julier::config {

struct MapMemory {
    std::string name;
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0;
};

// An estimate from the ABI struct sizes and the kernel's layout (values rounded up
// to 8 bytes, per-CPU values once per possible CPU, preallocated hash elements with
// their bookkeeping header and a power-of-two bucket array). `cpus` is the number
// of possible CPUs.
std::vector<MapMemory> estimate_map_memory(const Limits& limits, unsigned cpus);

std::uint64_t total_bytes(const std::vector<MapMemory>& maps);

// "3.0 MiB", "512 B".
std::string bytes_text(std::uint64_t bytes);

}  // namespace julier::config
