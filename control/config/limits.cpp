#include "config/limits.h"

#include "config/diagnostic.h"

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
    if (use.services > l.max_services)
        out.push_back({"max_services", counted(use.services, "service is", "services are") +
                                           " defined, more than max_services " + std::to_string(l.max_services)});
    if (use.backends > l.max_backends)
        out.push_back({"max_backends", counted(use.backends, "backend is", "backends are") +
                                           " defined, more than max_backends " + std::to_string(l.max_backends)});
    if (use.ring_slots > l.ring_capacity)
        out.push_back({"ring_capacity", "the services' rings need " + std::to_string(use.ring_slots) +
                                            " slots, more than ring_capacity " + std::to_string(l.ring_capacity)});
    return out;
}

}  // namespace julier::config
