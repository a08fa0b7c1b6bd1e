// What one side of the double-buffered catalogue maps holds, and the pure diff that
// turns a Plan into the map writes for that side. Kept apart from the libbpf code so
// the apply protocol's bookkeeping is unit-tested without root.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "dataplane/dataplane.h"
#include "julier/abi.h"
#include "plan/abi_values.h"
#include "plan/plan.h"

namespace julier::dataplane {

struct VipKeyLess {
    bool operator()(const jl_vip_key& a, const jl_vip_key& b) const { return std::memcmp(&a, &b, sizeof(a)) < 0; }
};

using VipTable = std::map<jl_vip_key, jl_vip, VipKeyLess>;

// One service's ring on a side: slots [offset, offset + slots.size()). Shares the
// plan's storage: remembering a side copies no slots.
struct RingImage {
    std::uint32_t offset = 0;
    plan::Ring slots;  // backend ids
};

// A whole ring written at once: slots [offset, offset + slots.size()) of the side.
struct RingRangeWrite {
    std::uint32_t offset = 0;
    plan::Ring slots;
};

struct SideImage {
    VipTable vips;                                 // keys carry this side
    VipTable frag_vips;                            // keys carry this side
    std::map<std::uint32_t, jl_backend> backends;  // non-empty entries by backend id
    std::map<std::uint32_t, RingImage> rings;      // by service id
    // jl_vip_filter words of this side (JL_VIP_FILTER_WORDS); empty when not known.
    std::vector<std::uint64_t> filter;
    // jl_settings of this side; nullopt when not known.
    std::optional<jl_settings> settings;
    // False when the ring slots' contents are not known (after an adopt): then every
    // ring is written whole. vips, frag_vips and backends are always read back, so
    // they are exact.
    bool rings_known = true;
};

struct SideWrites {
    std::vector<std::pair<jl_vip_key, jl_vip>> vip_updates;
    std::vector<jl_vip_key> vip_deletes;
    std::vector<std::pair<jl_vip_key, jl_vip>> frag_updates;
    std::vector<jl_vip_key> frag_deletes;
    // By backend id; an all-zero entry clears the id (family 0 = empty).
    std::vector<std::pair<std::uint32_t, jl_backend>> backend_writes;
    // Rings written whole (new, moved, or not known to the side), ascending by offset.
    std::vector<RingRangeWrite> ring_ranges;
    // Single slots of rings changed in place: (slot within the side, backend id),
    // ascending by slot.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ring_writes;
    // (word within the side, value), ascending by word.
    std::vector<std::pair<std::uint32_t, std::uint64_t>> filter_writes;
    // jl_settings[side], when it differs from what the side holds.
    std::optional<jl_settings> settings_write;
    bool relaid_out = false;  // first fit failed, every ring moved

    // Ring slots written: the single slots plus every whole ring's size.
    std::size_t ring_slots() const {
        std::size_t slots = ring_writes.size();
        for (const RingRangeWrite& range : ring_ranges) {
            slots += range.slots.size();
        }
        return slots;
    }
    SideImage result;  // the side once these writes are done

    bool empty() const {
        return vip_updates.empty() && vip_deletes.empty() && frag_updates.empty() && frag_deletes.empty() &&
               backend_writes.empty() && ring_ranges.empty() && ring_writes.empty() && filter_writes.empty() &&
               !settings_write;
    }
};

// First-fit placement of contiguous ring ranges within one side's capacity.
class RingLayout {
public:
    explicit RingLayout(std::uint32_t capacity) : capacity_(capacity) {}

    void reserve(std::uint32_t offset, std::uint32_t size);  // an existing range
    std::optional<std::uint32_t> allocate(std::uint32_t size);

private:
    std::uint32_t capacity_;
    std::map<std::uint32_t, std::uint32_t> used_;  // offset -> size
};

// The jl_vip_filter words of a side holding these tables: every word marked
// written, plus the bit of every address with a key in either table.
std::vector<std::uint64_t> vip_filter(const VipTable& vips, const VipTable& frag_vips);

// Pure. Throws DataplaneError when the plan does not fit the loaded limits.
SideWrites plan_side_writes(const SideImage& current, const plan::Plan& plan, std::uint32_t side, const Limits& limits);

}  // namespace julier::dataplane
