// Attaching the forwarder to interfaces with libxdp, and recognising it there.
//
// libxdp first tries its multi-program dispatcher; where that cannot load (freplace
// refused, as on the development kernel) it attaches the program alone. Either way
// the forwarder is found again by program id: as the interface's only program or
// as one of the dispatcher's. A program that uses the pinned jl_meta map is an
// earlier julier forwarder (same state, older code) and is replaced in place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/dataplane.h"

namespace julier::dataplane {

// Identifies julier's forwarder: this program, or any program using this map. The
// decapsulator (julier-decap) is attached the same way, named "decapsulator" and
// identified by its jl_decap_cfg map.
struct ForwarderIdentity {
    int prog_fd = -1;
    std::uint32_t prog_id = 0;
    std::uint32_t meta_map_id = 0;
    const char* name = "forwarder";  // in messages
};

std::uint32_t interface_index(const std::string& ifname);  // throws for unknown names

void attach_forwarder(const ForwarderIdentity& forwarder, const std::string& ifname, AttachMode mode);
// Returns whether something was detached.
bool detach_forwarder(const ForwarderIdentity& forwarder, const std::string& ifname);
// Interfaces running a program of this forwarder.
std::vector<std::string> forwarder_interfaces(const ForwarderIdentity& forwarder);

// Ids of the maps a program uses (empty when it is gone).
std::vector<std::uint32_t> program_map_ids(std::uint32_t prog_id);
std::uint32_t program_id(int prog_fd);
std::uint32_t map_id(int map_fd);

}  // namespace julier::dataplane
