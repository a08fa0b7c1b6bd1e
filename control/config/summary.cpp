#include "config/summary.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "config/duration.h"
#include "config/map_memory.h"

namespace julier::config {

namespace {

std::string endpoint(const Service& s) {
    const std::string host = s.vip.is_v6() ? "[" + s.vip.to_string() + "]" : s.vip.to_string();
    return fmt::format("{}:{}/{}", host, s.port == 0 ? std::string("*") : std::to_string(s.port),
                       to_string(s.protocol));
}

std::string health_text(const HealthCheck& h) {
    if (h.kind == HealthKind::none) return "no health check";
    return fmt::format("{} every {} (rise {}, fall {})", to_string(h.kind), format_duration(h.interval), h.rise,
                       h.fall);
}

// The rate, and the shortest time in which a flood on every CPU can cycle the whole
// connection table (an established flow idle for longer may lose its entry).
std::string flood_text(const FloodProtection& f, const Limits& l, unsigned cpus) {
    if (f.new_flow_rate_per_cpu == 0) return "flood protection: off (new flows are always remembered)\n";
    const std::uint64_t per_second = std::uint64_t{f.new_flow_rate_per_cpu} * cpus;
    return fmt::format(
        "flood protection: {} new flows/s per CPU ({}/s on {} CPUs); under a flood the connection table "
        "turns over in no less than {:.1f} s\n",
        f.new_flow_rate_per_cpu, per_second, cpus, static_cast<double>(l.max_flows) / static_cast<double>(per_second));
}

}  // namespace

std::string summarize(const Catalogue& c) {
    const long cpus = sysconf(_SC_NPROCESSORS_CONF);
    return summarize(c, cpus > 0 ? static_cast<unsigned>(cpus) : 1u);
}

std::string summarize(const Catalogue& c, unsigned cpus) {
    const LimitUse use = limit_use(c);
    std::size_t draining = 0;
    for (const Service& s : c.services)
        draining += static_cast<std::size_t>(std::count_if(
            s.backends.begin(), s.backends.end(), [](const Backend& b) { return b.state == BackendState::drain; }));

    std::string out = fmt::format("{}: {} services, {} backends ({} draining)\n", c.location.to_string(),
                                  c.services.size(), use.backends, draining);
    std::string ifaces;
    for (const Interface& i : c.interfaces)
        ifaces += fmt::format("{}{} ({})", ifaces.empty() ? "" : ", ", i.name, to_string(i.xdp_mode));
    out += fmt::format("interfaces: {}\n", ifaces.empty() ? "none" : ifaces);
    out += fmt::format("pin_dir: {}  control_socket: {}  metrics: {}\n", c.pin_dir, c.control_socket,
                       c.metrics.enabled ? c.metrics.listen() : "off");
    if (c.bgp) {
        out += fmt::format("bgp: AS {}, {} neighbour{}, hold-down {}, include {} (BIRD at {})\n",
                           c.bgp->local_as ? std::to_string(*c.bgp->local_as) : "unset", c.bgp->neighbours.size(),
                           c.bgp->neighbours.size() == 1 ? "" : "s", format_duration(c.bgp->hold_down),
                           c.bgp->bird_include, c.bgp->bird_socket);
    }

    std::size_t name_width = 4, ep_width = 8;
    for (const Service& s : c.services) {
        name_width = std::max(name_width, s.name.size());
        ep_width = std::max(ep_width, endpoint(s).size());
    }
    if (!c.services.empty()) out += "services:\n";
    for (const Service& s : c.services) {
        std::uint64_t weight = 0;
        for (const Backend& b : s.backends)
            if (b.state == BackendState::active) weight += b.weight;
        // The ring hash only when it is not the default 5-tuple.
        const std::string hash = s.hash == HashMode::five_tuple ? "" : fmt::format("  hash {}", to_string(s.hash));
        // Likewise ping answers, only when on.
        const std::string ping = s.answer_ping ? "  answers ping" : "";
        out += fmt::format("  {:<{}}  {:<{}}  {:<6}  ring {:>7}  {:>3} backend{} (active weight {})  {}{}{}\n", s.name,
                           name_width, endpoint(s), ep_width, to_string(s.forwarding), s.ring_size, s.backends.size(),
                           s.backends.size() == 1 ? " " : "s", weight, health_text(s.health), hash, ping);
    }

    const Limits& l = c.limits;
    out += fmt::format("limits: services {}/{}, backends {}/{}, ring slots {}/{} per side, flows {}\n", use.services,
                       l.max_services, use.backends, l.max_backends, use.ring_slots, l.ring_capacity, l.max_flows);
    out += flood_text(c.flood_protection, l, cpus);
    out += c.icmp_answers.rate_per_cpu == 0
               ? std::string("ICMP answers: no rate limit\n")
               : fmt::format("ICMP answers: at most {}/s per CPU\n", c.icmp_answers.rate_per_cpu);
    const auto maps = estimate_map_memory(l, cpus);
    out += fmt::format("BPF map memory (estimate for {} CPUs): {}\n", cpus, bytes_text(total_bytes(maps)));
    for (const MapMemory& m : maps)
        out += fmt::format("  {:<17} {:>10} entries  {:>10}\n", m.name, m.entries, bytes_text(m.bytes));
    return out;
}

}  // namespace julier::config
