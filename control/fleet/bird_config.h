// The BIRD include file julierd owns: a static protocol per address family with
// one route per announced VIP (communities and MED as route attributes), and a
// BGP protocol per configured neighbour exporting exactly those routes. Pure.
#pragma once

#include <string>
#include <vector>

#include "config/catalogue.h"
#include "fleet/announce.h"

namespace julier::fleet {

// Protocol names used in the file (and read back from `show protocols`).
inline constexpr const char* kStatic4 = "julier_vips4";
inline constexpr const char* kStatic6 = "julier_vips6";
// "julier_n1", "julier_n2", ... in the order of bgp.neighbours.
std::string neighbour_protocol(std::size_t index);

std::string render_bird_include(const config::Bgp& bgp, const std::vector<VipHealth>& announced);

}  // namespace julier::fleet
