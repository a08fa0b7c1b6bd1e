#include "dataplane/flow_pick.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "dataplane/dataplane.h"
#include "julier/flow_pick.h"

namespace julier::dataplane {
namespace {

// False when the key is absent.
bool lookup(int fd, const void* key, void* value, const char* map) {
    if (bpf_map_lookup_elem(fd, key, value) == 0) return true;
    if (errno == ENOENT) return false;
    throw DataplaneError(std::string("cannot read ") + map + ": " + std::strerror(errno));
}

std::optional<jl_backend> backend_at(const PickMaps& m, std::uint32_t side, std::uint32_t id) {
    if (id >= m.max_backends) return std::nullopt;
    const __u32 index = side * m.max_backends + id;
    jl_backend be{};
    if (!lookup(m.backends, &index, &be, "jl_backends")) return std::nullopt;
    return be;
}

}  // namespace

FlowPick pick_flow(const PickMaps& m, const jl_flow_key& key, std::uint64_t now_ns) {
    FlowPick pick;
    const __u32 zero = 0;
    if (!lookup(m.active, &zero, &pick.generation, "jl_active")) pick.generation = 0;
    const __u32 side = pick.generation & 1;

    // jl_service_lookup: the port's service, else the address's every-port service.
    jl_vip_key vkey{};
    jl_vip vip{};
    jl_service_key(&vkey, &key, side, key.dport);
    bool found = lookup(m.vips, &vkey, &vip, "jl_vips");
    if (!found) {
        vkey.port = 0;
        found = lookup(m.vips, &vkey, &vip, "jl_vips");
    }
    if (!found) return pick;
    pick.vip = vip;

    // jl_flow_backend: the entry's backend, while it takes the flow.
    jl_flow raw{};
    if (lookup(m.flows, &key, &raw, "jl_flows")) {
        pick.entry = flows::flow_value(key, raw, now_ns);
        const auto be = backend_at(m, side, pick.entry->backend_id);
        // jl_flow_entry: an expired entry counts as absent (the next packet re-picks).
        pick.entry_expired =
            jl_flow_timed(&raw, key.proto) && jl_flow_expired(&raw, key.proto, vip.udp_idle_timeout_ms, now_ns) != 0;
        pick.entry_kept =
            !pick.entry_expired && jl_flow_keeps(pick.entry->service_id, be ? &*be : nullptr, vip.service_id) != 0;
        if (pick.entry_kept) pick.backend = pick.entry->backend_id;
    }

    // jl_pick: the ring slot of the service's ring hash.
    pick.ring_hash = jl_ring_hash(&key, vip.flags);
    __u32 index = 0;
    if (vip.ring_size != 0 && jl_ring_index(&vip, side, pick.ring_hash, m.ring_capacity, &index) == 0) {
        __u32 id = 0;
        if (lookup(m.rings, &index, &id, "jl_rings")) {
            const auto be = backend_at(m, side, id);
            if (jl_backend_serves(be ? &*be : nullptr, vip.service_id)) pick.ring_backend = id;
        }
    }
    if (!pick.entry_kept) pick.backend = pick.ring_backend;
    return pick;
}

}  // namespace julier::dataplane
