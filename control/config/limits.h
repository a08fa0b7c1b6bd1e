// Sizes of the BPF maps, fixed when the forwarder is loaded (changing them needs a
// restart, not a reload), and the one rule that a catalogue fits them. The
// catalogue's `limits` and the forwarder's load options are this one type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/schema.h"

namespace julier::config {

struct Limits {
    std::uint32_t max_services = schema::fallback(schema::Section::limits, "max_services");
    // Backend ids per side, all services.
    std::uint32_t max_backends = schema::fallback(schema::Section::limits, "max_backends");
    // Maglev ring slots per side, all services.
    std::uint32_t ring_capacity = schema::fallback(schema::Section::limits, "ring_capacity");
    std::uint32_t max_flows = schema::fallback(schema::Section::limits, "max_flows");  // connection table

    bool operator==(const Limits&) const = default;
};

// True when every size is within the bounds the catalogue allows (schema.h), as
// every size read from a catalogue is.
bool within_bounds(const Limits& limits);

// "max_services 64, max_backends 16384, ring_capacity 4194368, max_flows 1048576"
std::string to_string(const Limits& limits);

// What a catalogue takes of its limits.
struct LimitUse {
    std::uint64_t services = 0;
    std::uint64_t backends = 0;
    std::uint64_t ring_slots = 0;
};

struct LimitExcess {
    std::string key;      // "max_backends"
    std::string message;  // "3 backends are defined, more than max_backends 2"
};

// Each limit `use` exceeds, in the order of the `limits` keys.
std::vector<LimitExcess> exceeded(const LimitUse& use, const Limits& limits);

}  // namespace julier::config
