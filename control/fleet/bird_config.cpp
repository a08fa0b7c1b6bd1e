#include "fleet/bird_config.h"

#include <fmt/format.h>

namespace julier::fleet {
namespace {

std::string route(const VipHealth& v) {
    std::string attrs;
    if (v.med) attrs += fmt::format(" bgp_med = {};", *v.med);
    for (const auto& c : v.communities) {
        if (c.parts.size() == 2)
            attrs += fmt::format(" bgp_community.add(({},{}));", c.parts[0], c.parts[1]);
        else
            attrs += fmt::format(" bgp_large_community.add(({},{},{}));", c.parts[0], c.parts[1], c.parts[2]);
    }
    const int len = v.vip.is_v6() ? 128 : 32;
    // blackhole: the route only exists to be exported; the XDP forwarder takes the
    // packets before the kernel's table is consulted (and BIRD's kernel protocol
    // need not export it at all).
    return fmt::format("  route {}/{} blackhole{};\n", v.vip.to_string(), len,
                       attrs.empty() ? std::string{} : " {" + attrs + " }");
}

}  // namespace

std::string neighbour_protocol(std::size_t index) { return fmt::format("julier_n{}", index + 1); }

std::string render_bird_include(const config::Bgp& bgp, const std::vector<VipHealth>& announced) {
    std::string out =
        "# Written by julierd: the VIPs this box announces. Do not edit; include it from\n"
        "# bird.conf. julierd rewrites it and asks BIRD to reconfigure when health changes.\n";
    if (bgp.router_id) out += fmt::format("router id {};\n", bgp.router_id->to_string());
    for (const int family : {4, 6}) {
        out += fmt::format("\nprotocol static {} {{\n  ipv{};\n", family == 4 ? kStatic4 : kStatic6, family);
        for (const auto& v : announced) {
            if (v.vip.family == family) out += route(v);
        }
        out += "}\n";
    }
    for (std::size_t i = 0; i < bgp.neighbours.size(); ++i) {
        const auto& n = bgp.neighbours[i];
        const int family = n.address.family;
        out += fmt::format("\nprotocol bgp {} {{\n", neighbour_protocol(i));
        out += fmt::format("  local as {};\n", bgp.local_as.value_or(0));
        out += fmt::format("  neighbor {} as {};\n", n.address.to_string(), n.as);
        if (n.hold_time) {
            const auto hold = std::chrono::duration_cast<std::chrono::seconds>(*n.hold_time).count();
            out += fmt::format("  hold time {};\n  keepalive time {};\n  connect retry time {};\n", hold,
                               std::max<long>(1, hold / 3), std::max<long>(1, hold / 3));
        }
        out += fmt::format("  ipv{} {{ import none; export where proto = \"{}\"; next hop self; }};\n", family,
                           family == 4 ? kStatic4 : kStatic6);
        out += "}\n";
    }
    return out;
}

}  // namespace julier::fleet
