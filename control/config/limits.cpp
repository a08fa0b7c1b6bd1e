#include "config/limits.h"

#include "config/diagnostic.h"
#include "config/map_memory.h"

namespace julier::config {

bool within_bounds(const Limits& l) {
    using schema::Section;
    const auto fits = [](std::uint64_t value, const schema::Field& f) { return value >= f.min && value <= f.max; };
    return fits(l.max_services, schema::field(Section::limits, "max_services")) &&
           fits(l.max_backends, schema::field(Section::limits, "max_backends")) &&
           fits(l.ring_capacity, schema::field(Section::limits, "ring_capacity")) &&
           fits(l.max_flows, schema::field(Section::limits, "max_flows"));
}

std::string to_string(const Limits& l) {
    return "max_services " + std::to_string(l.max_services) + ", max_backends " + std::to_string(l.max_backends) +
           ", ring_capacity " + std::to_string(l.ring_capacity) + ", max_flows " + std::to_string(l.max_flows);
}

std::vector<LimitExcess> exceeded(const LimitUse& use, const Limits& l) {
    std::vector<LimitExcess> out;
    // The fix: the limit raised to `need`, with what that costs by the same estimate
    // `--check` prints, or the limit's maximum when `need` is beyond it.
    const auto raise = [&l](const schema::Field& f, std::uint64_t need, std::uint32_t Limits::*member) {
        const std::string key(f.key);
        const std::uint64_t max = f.max;
        if (need > max) return "; limits." + key + " can be at most " + std::to_string(max);
        Limits raised = l;
        raised.*member = static_cast<std::uint32_t>(need);
        const unsigned cpus = 1;  // none of these maps is per CPU
        const std::uint64_t cost =
            total_bytes(estimate_map_memory(raised, cpus)) - total_bytes(estimate_map_memory(l, cpus));
        return "; set limits." + key + " to at least " + std::to_string(need) + " (" + bytes_text(cost) +
               " more BPF map memory; a restart applies it, a reload does not)";
    };
    if (use.services > l.max_services)
        out.push_back({"max_services", counted(use.services, "service is", "services are") +
                                           " defined, more than max_services " + std::to_string(l.max_services) +
                                           raise(schema::field(schema::Section::limits, "max_services"), use.services,
                                                 &Limits::max_services)});
    if (use.backends > l.max_backends)
        out.push_back({"max_backends", counted(use.backends, "backend is", "backends are") +
                                           " defined, more than max_backends " + std::to_string(l.max_backends) +
                                           raise(schema::field(schema::Section::limits, "max_backends"), use.backends,
                                                 &Limits::max_backends)});
    if (use.ring_slots > l.ring_capacity)
        out.push_back({"ring_capacity", "the services' rings need " + std::to_string(use.ring_slots) +
                                            " slots, more than ring_capacity " + std::to_string(l.ring_capacity) +
                                            raise(schema::field(schema::Section::limits, "ring_capacity"),
                                                  use.ring_slots, &Limits::ring_capacity) +
                                            ", or give services a smaller ring_size"});
    return out;
}

}  // namespace julier::config
