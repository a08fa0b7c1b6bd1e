// Which backend a flow uses or would get: the forwarder's own decision
// (julier/flow_pick.h), made with map lookups on the live side instead of a packet.
// For `julierctl which`; tests hold it against BPF_PROG_TEST_RUN.
#pragma once

#include <cstdint>
#include <optional>

#include "flows/flow_table.h"
#include "julier/abi.h"

namespace julier::dataplane {

// The forwarder's maps the decision reads, by descriptor, and its .rodata sizes.
struct PickMaps {
    int active = -1;
    int vips = -1;
    int flows = -1;
    int backends = -1;
    int rings = -1;
    std::uint32_t max_backends = 0;
    std::uint32_t ring_capacity = 0;
};

struct FlowPick {
    std::uint32_t generation = 0;               // jl_active when read
    std::optional<jl_vip> vip;                  // the service the flow is for; none: not a VIP (passed)
    std::optional<flows::FlowValue> entry;      // its connection-table entry
    bool entry_expired = false;                 // the entry is past its time: counts as absent
    bool entry_kept = false;                    // and the entry (not expired) and its backend still take the flow
    std::uint32_t ring_hash = 0;                // the hash a new flow's ring slot comes from
    std::optional<std::uint32_t> ring_backend;  // the ring's pick, when it is a backend of the service
    // The backend the next packet goes to: the entry's when kept, else the ring's pick;
    // none when the service drops it (no usable backend, or a bad ring slot).
    std::optional<std::uint32_t> backend;
};

// Throws DataplaneError when a map cannot be read.
FlowPick pick_flow(const PickMaps& maps, const jl_flow_key& key, std::uint64_t now_ns);

}  // namespace julier::dataplane
