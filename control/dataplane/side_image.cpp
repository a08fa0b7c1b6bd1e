#include "dataplane/side_image.h"

#include <algorithm>
#include <iterator>
#include <string>

namespace julier::dataplane {

void RingLayout::reserve(std::uint32_t offset, std::uint32_t size) {
    if (size > 0) {
        used_[offset] = size;
    }
}

std::optional<std::uint32_t> RingLayout::allocate(std::uint32_t size) {
    if (size == 0) {
        return std::nullopt;
    }
    std::uint64_t cursor = 0;  // first slot after everything visited so far
    for (const auto& [offset, used] : used_) {
        if (offset >= cursor && offset - cursor >= size) {
            break;
        }
        cursor = std::max<std::uint64_t>(cursor, std::uint64_t{offset} + used);
    }
    if (cursor + size > capacity_) {
        return std::nullopt;
    }
    auto offset = static_cast<std::uint32_t>(cursor);
    used_[offset] = size;
    return offset;
}

namespace {

void check_fits(const plan::Plan& plan, const Limits& limits) {
    std::uint64_t slots = 0;
    for (const plan::PlannedService& service : plan.services) {
        if (service.id >= limits.max_services) {
            throw DataplaneError("service " + service.name + " has id " + std::to_string(service.id) +
                                 " but the loaded forwarder takes " + std::to_string(limits.max_services) +
                                 " services (limits change only when julierd restarts)");
        }
        if (service.ring.size() != service.vip.ring_size) {
            throw DataplaneError("service " + service.name + ": ring of " + std::to_string(service.ring.size()) +
                                 " slots but ring_size " + std::to_string(service.vip.ring_size));
        }
        slots += service.ring.size();
        for (const plan::PlannedBackend& backend : service.backends) {
            if (backend.id >= limits.max_backends) {
                throw DataplaneError("service " + service.name + ": backend " + backend.address.to_string() +
                                     " has id " + std::to_string(backend.id) + " but the loaded forwarder takes " +
                                     std::to_string(limits.max_backends) +
                                     " backends (limits change only when julierd restarts)");
            }
        }
    }
    if (slots > limits.ring_capacity) {
        throw DataplaneError("the rings need " + std::to_string(slots) + " slots but the loaded forwarder has " +
                             std::to_string(limits.ring_capacity) +
                             " per side (limits change only when julierd restarts)");
    }
    for (const plan::FragVip& frag : plan.frag_vips) {
        if (frag.service >= plan.services.size()) {
            throw DataplaneError("fragment VIP names service #" + std::to_string(frag.service) + " of a plan with " +
                                 std::to_string(plan.services.size()));
        }
    }
}

// Offsets of every non-empty ring: kept where the size did not change, first fit
// for the rest; if fragmentation defeats first fit, everything is laid out afresh
// (the side is inactive, so moving rings costs writes, not correctness).
std::map<std::uint32_t, std::uint32_t> place_rings(const SideImage& current, const plan::Plan& plan,
                                                   const Limits& limits, bool& relaid_out) {
    std::map<std::uint32_t, std::uint32_t> placed;
    RingLayout layout(limits.ring_capacity);
    std::vector<const plan::PlannedService*> unplaced;
    for (const plan::PlannedService& service : plan.services) {
        if (service.ring.empty()) {
            continue;
        }
        auto old = current.rings.find(service.id);
        if (old != current.rings.end() && old->second.slots.size() == service.ring.size()) {
            layout.reserve(old->second.offset, static_cast<std::uint32_t>(service.ring.size()));
            placed[service.id] = old->second.offset;
        } else {
            unplaced.push_back(&service);
        }
    }
    relaid_out = false;
    for (const plan::PlannedService* service : unplaced) {
        std::optional<std::uint32_t> offset = layout.allocate(static_cast<std::uint32_t>(service->ring.size()));
        if (!offset) {
            relaid_out = true;
            break;
        }
        placed[service->id] = *offset;
    }
    if (relaid_out) {
        placed.clear();
        std::uint32_t next = 0;
        for (const plan::PlannedService& service : plan.services) {
            if (!service.ring.empty()) {
                placed[service.id] = next;
                next += static_cast<std::uint32_t>(service.ring.size());
            }
        }
    }
    return placed;
}

void diff_table(const VipTable& before, const VipTable& after, std::vector<std::pair<jl_vip_key, jl_vip>>& updates,
                std::vector<jl_vip_key>& deletes) {
    for (const auto& [key, value] : after) {
        auto old = before.find(key);
        if (old == before.end() || !(old->second == value)) {
            updates.emplace_back(key, value);
        }
    }
    for (const auto& [key, value] : before) {
        if (!after.contains(key)) {
            deletes.push_back(key);
        }
    }
}

}  // namespace

std::vector<std::uint64_t> vip_filter(const VipTable& vips, const VipTable& frag_vips) {
    std::vector<std::uint64_t> words(JL_VIP_FILTER_WORDS, JL_VIP_FILTER_WRITTEN);
    for (const VipTable* table : {&vips, &frag_vips}) {
        for (const auto& [key, value] : *table) {
            words[jl_vip_filter_index(key.addr, 0)] |= jl_vip_filter_mask(key.addr);
        }
    }
    return words;
}

SideWrites plan_side_writes(const SideImage& current, const plan::Plan& plan, std::uint32_t side,
                            const Limits& limits) {
    check_fits(plan, limits);
    SideWrites writes;
    SideImage& next = writes.result;
    next.rings_known = true;

    std::map<std::uint32_t, std::uint32_t> placed = place_rings(current, plan, limits, writes.relaid_out);

    for (const plan::PlannedService& service : plan.services) {
        if (service.ring.empty()) {
            continue;
        }
        std::uint32_t offset = placed.at(service.id);
        auto old = current.rings.find(service.id);
        bool in_place = current.rings_known && !writes.relaid_out && old != current.rings.end() &&
                        old->second.offset == offset && old->second.slots.size() == service.ring.size();
        if (!in_place) {
            writes.ring_ranges.push_back(RingRangeWrite{offset, service.ring});
        } else if (!old->second.slots.shares(service.ring)) {
            // The same ring storage needs nothing; another one only the slots that
            // changed (a Maglev table moves few).
            const plan::Ring& before = old->second.slots;
            for (std::size_t i = 0; i < service.ring.size(); ++i) {
                if (before[i] != service.ring[i]) {
                    writes.ring_writes.emplace_back(offset + static_cast<std::uint32_t>(i), service.ring[i]);
                }
            }
        }
        next.rings[service.id] = RingImage{offset, service.ring};
    }
    std::sort(writes.ring_writes.begin(), writes.ring_writes.end());
    std::sort(writes.ring_ranges.begin(), writes.ring_ranges.end(),
              [](const RingRangeWrite& a, const RingRangeWrite& b) { return a.offset < b.offset; });

    std::vector<jl_vip> values;  // by plan index, for the fragment table
    for (const plan::PlannedService& service : plan.services) {
        jl_vip_key key = service.vip_key;
        key.side = side;
        jl_vip value = service.vip;
        value.ring_offset = service.ring.empty() ? 0 : placed.at(service.id);
        next.vips[key] = value;
        values.push_back(value);
    }
    for (const plan::FragVip& frag : plan.frag_vips) {
        jl_vip_key key = frag.key;
        key.side = side;
        next.frag_vips[key] = values[frag.service];
    }
    diff_table(current.vips, next.vips, writes.vip_updates, writes.vip_deletes);
    diff_table(current.frag_vips, next.frag_vips, writes.frag_updates, writes.frag_deletes);

    next.filter = vip_filter(next.vips, next.frag_vips);
    bool filter_known = current.filter.size() == next.filter.size();
    for (std::uint32_t word = 0; word < next.filter.size(); ++word) {
        if (!filter_known || current.filter[word] != next.filter[word]) {
            writes.filter_writes.emplace_back(word, next.filter[word]);
        }
    }

    next.settings = plan.settings;
    if (!current.settings || !(*current.settings == plan.settings)) writes.settings_write = plan.settings;

    // Backends by id, then one merge walk against what the side holds (both sorted):
    // no per-backend tree search, which dominated a small apply of many backends.
    std::vector<std::pair<std::uint32_t, jl_backend>> planned;
    for (const plan::PlannedService& service : plan.services) {
        for (const plan::PlannedBackend& backend : service.backends) {
            planned.emplace_back(backend.id, backend.entry);
        }
    }
    std::stable_sort(planned.begin(), planned.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [id, entry] : planned) {
        auto last = next.backends.empty() ? next.backends.end() : std::prev(next.backends.end());
        if (last != next.backends.end() && last->first == id) {
            last->second = entry;  // the later one wins, as before
        } else {
            next.backends.emplace_hint(next.backends.end(), id, entry);
        }
    }
    auto old = current.backends.begin();
    for (const auto& [id, entry] : next.backends) {
        for (; old != current.backends.end() && old->first < id; ++old) {
            writes.backend_writes.emplace_back(old->first, jl_backend{});  // no longer planned: cleared
        }
        if (old != current.backends.end() && old->first == id) {
            if (!(old->second == entry)) {
                writes.backend_writes.emplace_back(id, entry);
            }
            ++old;
        } else {
            writes.backend_writes.emplace_back(id, entry);
        }
    }
    for (; old != current.backends.end(); ++old) {
        writes.backend_writes.emplace_back(old->first, jl_backend{});
    }
    return writes;
}

}  // namespace julier::dataplane
