#include "config/validate.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "config/duration.h"
#include "config/encap_overhead.h"
#include "maglev/prime.h"

namespace julier::config {

namespace {

// IPv6 links carry at least 1280 bytes (RFC 8200); a smaller MTU cannot be honoured.
constexpr std::uint16_t ipv6_min_mtu = JL_IPV6_MIN_MTU;
// Below this many ring slots per backend, Maglev's spread of load gets uneven
// (the Maglev paper keeps M >= 100 N for a spread within about 1%).
constexpr std::uint64_t ring_slots_per_backend = 100;

std::string family_name(int family) { return family == 6 ? "IPv6" : "IPv4"; }

// Which inner (VIP) and outer (backend) families a forwarding mode can carry;
// 0 = any.
struct Carriage {
    int vip_family;
    int backend_family;
};

Carriage carriage(Forwarding f) {
    switch (f) {
        case Forwarding::ipip: return {4, 4};
        case Forwarding::ip6ip6: return {6, 6};
        case Forwarding::ip4in6: return {4, 6};
        case Forwarding::l2:
        case Forwarding::gue: return {0, 0};
    }
    return {0, 0};
}

class Validator {
public:
    Validator(const Catalogue& c, const FieldIndex& index) : c_(c), index_(index) {}

    std::vector<Diagnostic> run() {
        interfaces();
        std::map<std::string, const Service*> names;
        std::map<std::tuple<common::IpAddress, std::uint16_t, Protocol>, const Service*> endpoints;
        for (std::size_t i = 0; i < c_.services.size(); ++i) {
            const Service& s = c_.services[i];
            const std::string p = index_path("services", i);
            if (index_.valid(p + ".name") && !s.name.empty()) {
                if (auto [it, fresh] = names.emplace(s.name, &s); !fresh)
                    report(
                        Severity::error, p + ".name", s.location,
                        "duplicate service name '" + s.name + "' (first at " + it->second->location.to_string() + ")");
            }
            if (index_.valid(p + ".vip") && index_.valid(p + ".port") && index_.valid(p + ".protocol")) {
                if (auto [it, fresh] = endpoints.emplace(std::tuple{s.vip, s.port, s.protocol}, &s); !fresh)
                    report(Severity::error, p + ".port", s.location,
                           endpoint_text(s) + " is already served by service '" + it->second->name + "' (at " +
                               it->second->location.to_string() + ")");
            }
            service(s, p);
        }
        limits();
        bgp();
        answer_ping();
        return std::move(out_);
    }

    std::vector<Diagnostic> run_defaults(const Service& inherited) {
        ring_prime(inherited, "defaults");
        health_timing(inherited, "defaults");
        return std::move(out_);
    }

private:
    // `field` is resolved (services[2].mtu); the message goes where its value was
    // written. When that is `defaults`, the service is named so the reader knows
    // which one the finding is about.
    void report(Severity severity, const std::string& field, const SourceLocation& fallback, std::string message,
                const Service* about = nullptr) {
        const FieldOrigin origin = index_.find(field, fallback);
        if (about && !origin.path.starts_with("services[")) message += " (service '" + about->name + "')";
        out_.push_back(Diagnostic{severity, origin.location, origin.path, std::move(message)});
    }

    static std::string endpoint_text(const Service& s) {
        const std::string host = s.vip.is_v6() ? "[" + s.vip.to_string() + "]" : s.vip.to_string();
        return host + ":" + std::to_string(s.port) + "/" + std::string(to_string(s.protocol));
    }

    void interfaces() {
        std::map<std::string, const Interface*> seen;
        for (std::size_t i = 0; i < c_.interfaces.size(); ++i) {
            const Interface& iface = c_.interfaces[i];
            if (auto [it, fresh] = seen.emplace(iface.name, &iface); !fresh)
                report(Severity::error, index_path("interfaces", i), iface.location,
                       "interface '" + iface.name + "' is listed twice (first at " + it->second->location.to_string() +
                           ")");
        }
    }

    void limits() {
        LimitUse use = limit_use(c_);
        for (std::size_t i = 0; i < c_.services.size(); ++i)
            if (!index_.valid(index_path("services", i) + ".ring_size")) use.ring_slots = 0;  // not known
        for (const LimitExcess& excess : exceeded(use, c_.limits)) {
            const std::string field = "limits." + excess.key;
            // An invalid count limit was already found over by the parser, which
            // counted what it did not read.
            if (excess.key != "ring_capacity" && !index_.valid(field)) continue;
            report(Severity::error, field, c_.location, excess.message);
        }
    }

    void bgp() {
        if (!c_.bgp) return;
        const Bgp& b = *c_.bgp;
        if (!b.neighbours.empty() && !b.local_as && index_.valid("bgp.local_as"))
            report(Severity::error, "bgp.local_as", b.location,
                   "missing: neighbours are listed, so the local AS number is needed");
        std::map<common::IpAddress, const BgpNeighbour*> seen;
        for (std::size_t i = 0; i < b.neighbours.size(); ++i) {
            const BgpNeighbour& n = b.neighbours[i];
            const std::string np = index_path("bgp.neighbours", i);
            if (!index_.valid(np + ".address")) continue;
            if (auto [it, fresh] = seen.emplace(n.address, &n); !fresh)
                report(Severity::error, np + ".address", n.location,
                       n.address.to_string() + " is listed twice (first at " + it->second->location.to_string() + ")");
        }
        // One route per VIP: every service on it must ask for the same attributes.
        std::map<common::IpAddress, std::size_t> first;
        for (std::size_t i = 0; i < c_.services.size(); ++i) {
            const Service& s = c_.services[i];
            const std::string p = index_path("services", i);
            if (!index_.valid(p + ".vip") || !index_.valid(p + ".bgp")) continue;
            if (s.bgp.min_healthy_backends > s.backends.size() && index_.valid(p + ".backends"))
                report(Severity::warning, p + ".bgp.min_healthy_backends", s.location,
                       std::to_string(s.bgp.min_healthy_backends) + " healthy backends needed but the service has " +
                           counted(s.backends.size(), "backend", "backends") + ": its VIP is never announced",
                       &s);
            auto [it, fresh] = first.emplace(s.vip, i);
            if (fresh) continue;
            const Service& o = c_.services[it->second];
            if (o.bgp.communities != s.bgp.communities || o.bgp.med != s.bgp.med)
                report(Severity::error, p + ".bgp", s.location,
                       "the VIP " + s.vip.to_string() +
                           " is one route: its communities and med must be the same as "
                           "in service '" +
                           o.name + "' (at " + o.location.to_string() + ")",
                       &s);
        }
    }

    // The forwarder answers ping per address, not per service: every service on a VIP
    // address must say the same.
    void answer_ping() {
        std::map<common::IpAddress, std::size_t> first;
        for (std::size_t i = 0; i < c_.services.size(); ++i) {
            const Service& s = c_.services[i];
            const std::string p = index_path("services", i);
            if (!index_.valid(p + ".vip") || !index_.valid(p + ".answer_ping")) continue;
            auto [it, fresh] = first.emplace(s.vip, i);
            if (fresh) continue;
            const Service& o = c_.services[it->second];
            if (o.answer_ping != s.answer_ping)
                report(Severity::error, p + ".answer_ping", s.location,
                       std::string(s.answer_ping ? "true" : "false") + ", but service '" + o.name + "' (at " +
                           o.location.to_string() + ") on the same VIP " + s.vip.to_string() + " says " +
                           (o.answer_ping ? "true" : "false") +
                           ": pings are answered per address, so every service of an address must agree",
                       &s);
        }
    }

    void service(const Service& s, const std::string& p) {
        const bool vip_ok = index_.valid(p + ".vip");
        const bool forwarding_ok = index_.valid(p + ".forwarding");
        const Carriage carry = carriage(s.forwarding);

        // The VIP's family against the forwarding mode; backends are only judged
        // against a mode that can carry the VIP at all.
        bool mode_fits_vip = vip_ok && forwarding_ok;
        if (mode_fits_vip && carry.vip_family != 0 && carry.vip_family != s.vip.family) {
            report(Severity::error, p + ".forwarding", s.location,
                   std::string(to_string(s.forwarding)) + " carries " + family_name(carry.vip_family) +
                       " VIPs only, but the VIP " + s.vip.to_string() + " is " + family_name(s.vip.family),
                   &s);
            mode_fits_vip = false;
        }

        bool backend_v4 = false, backend_v6 = false;
        std::map<common::IpAddress, const Backend*> seen;
        for (std::size_t i = 0; i < s.backends.size(); ++i) {
            const Backend& b = s.backends[i];
            const std::string bp = index_path(p + ".backends", i);
            if (!index_.valid(bp + ".address")) continue;
            backend_v4 = backend_v4 || b.address.is_v4();
            backend_v6 = backend_v6 || b.address.is_v6();
            if (auto [it, fresh] = seen.emplace(b.address, &b); !fresh)
                report(Severity::error, bp + ".address", b.location,
                       b.address.to_string() + " is listed twice (first at " + it->second->location.to_string() + ")");
            if (vip_ok && b.address == s.vip)
                report(Severity::error, bp + ".address", b.location,
                       "a backend cannot be the VIP itself (" + s.vip.to_string() + ")");
            if (mode_fits_vip) backend_family(s, b, bp, carry);
        }

        if (forwarding_ok) encap_source(s, p, backend_v4, backend_v6);
        mtu(s, p, backend_v6);
        mtu_after_encapsulation(s, p, backend_v4, backend_v6);
        ring(s, p);
        backends(s, p);
        hash(s, p);
        health(s, p);
    }

    void backend_family(const Service& s, const Backend& b, const std::string& bp, Carriage carry) {
        const int want = s.forwarding == Forwarding::l2 ? s.vip.family : carry.backend_family;
        if (want == 0 || b.address.family == want) return;
        std::string why;
        if (s.forwarding == Forwarding::l2)
            why = "l2 forwarding rewrites only MAC addresses, so backends must have the VIP's family (" +
                  family_name(want) + "); use gue";
        else
            why = std::string(to_string(s.forwarding)) + " sends to " + family_name(want) + " backends only; use " +
                  (b.address.is_v6() ? (s.vip.is_v4() ? "ip4in6 or gue" : "ip6ip6 or gue") : "ipip or gue");
        report(Severity::error, bp + ".address", b.location,
               family_name(b.address.family) + " backend " + b.address.to_string() + " cannot be reached: " + why);
    }

    void encap_source(const Service& s, const std::string& p, bool backend_v4, bool backend_v6) {
        bool need_v4 = false, need_v6 = false;
        switch (s.forwarding) {
            case Forwarding::l2: break;
            case Forwarding::ipip: need_v4 = true; break;
            case Forwarding::ip6ip6:
            case Forwarding::ip4in6: need_v6 = true; break;
            case Forwarding::gue:
                need_v4 = backend_v4;
                need_v6 = backend_v6;
                break;
        }
        auto missing = [&](bool need, const std::optional<common::IpAddress>& have, const char* key, int family) {
            if (!need || have || !index_.valid(p + ".encap_source." + key)) return;
            report(Severity::error, p + ".forwarding", s.location,
                   std::string(to_string(s.forwarding)) + " sends " + family_name(family) +
                       " outer headers and needs encap_source." + key +
                       " (the outer source address; set it in the service or in defaults)",
                   &s);
        };
        missing(need_v4, s.encap_source.ipv4, "ipv4", 4);
        missing(need_v6, s.encap_source.ipv6, "ipv6", 6);
    }

    void mtu(const Service& s, const std::string& p, bool backend_v6) {
        if (!index_.valid(p + ".mtu") || s.mtu >= ipv6_min_mtu) return;
        const bool outer_v6 = s.forwarding == Forwarding::ip6ip6 || s.forwarding == Forwarding::ip4in6 ||
                              (s.forwarding == Forwarding::gue && backend_v6);
        if (!(index_.valid(p + ".vip") && s.vip.is_v6()) && !outer_v6) return;
        report(Severity::error, p + ".mtu", s.location,
               std::to_string(s.mtu) + " is below the IPv6 minimum link MTU " + std::to_string(ipv6_min_mtu) +
                   " (this service sends IPv6)",
               &s);
    }

    // An IPv6 client told "Packet Too Big" with less than 1280 ignores it (RFC 8201),
    // so full-size packets of an IPv6 VIP must fit after encapsulation at 1280.
    void mtu_after_encapsulation(const Service& s, const std::string& p, bool backend_v4, bool backend_v6) {
        if (!index_.valid(p + ".mtu") || !index_.valid(p + ".vip") || !s.vip.is_v6()) return;
        const auto worst = std::max(backend_v4 ? encap_overhead(s.forwarding, 4).value_or(0) : 0u,
                                    backend_v6 ? encap_overhead(s.forwarding, 6).value_or(0) : 0u);
        if (worst == 0 || s.mtu >= ipv6_min_mtu + worst) return;
        if (s.mtu < ipv6_min_mtu) return;  // said already: below any IPv6 link
        report(Severity::error, p + ".mtu", s.location,
               std::to_string(s.mtu) + " leaves " + std::to_string(s.mtu - worst) +
                   " bytes for an IPv6 client's packet after " + std::string(to_string(s.forwarding)) +
                   " encapsulation (" + std::to_string(worst) + " bytes), and a Packet Too Big below " +
                   std::to_string(ipv6_min_mtu) + " is ignored by clients; the smallest mtu for this service is " +
                   std::to_string(ipv6_min_mtu + worst),
               &s);
    }

    void ring_prime(const Service& s, const std::string& p) {
        if (!index_.valid(p + ".ring_size") || maglev::is_prime(s.ring_size)) return;
        const auto next = maglev::next_prime(s.ring_size);
        report(Severity::error, p + ".ring_size", s.location,
               std::to_string(s.ring_size) + " is not prime" +
                   (next ? " (the next prime is " + std::to_string(*next) + ")" : std::string{}));
    }

    void ring(const Service& s, const std::string& p) {
        if (!index_.valid(p + ".ring_size")) return;
        const std::string field = p + ".ring_size";
        ring_prime(s, p);
        const std::uint64_t n = s.backends.size();
        if (n > s.ring_size)
            report(Severity::error, field, s.location,
                   std::to_string(s.ring_size) + " slots cannot hold " + counted(n, "backend", "backends") +
                       " (the ring needs at least one slot per backend)",
                   &s);
        else if (n > 0 && s.ring_size < ring_slots_per_backend * n)
            report(Severity::warning, field, s.location,
                   std::to_string(s.ring_size) + " slots for " + counted(n, "backend", "backends") +
                       " spread load unevenly; use at least " + std::to_string(ring_slots_per_backend * n) +
                       " (100 per backend)",
                   &s);
    }

    // The destination port alone spreads a service over its backends only when the
    // service takes several ports.
    void hash(const Service& s, const std::string& p) {
        if (s.hash == HashMode::destination_port && s.port != 0 && index_.valid(p + ".hash"))
            report(Severity::warning, p + ".hash", s.location,
                   "destination_port on a service of one port sends every flow to one backend; it is meant for "
                   "services on every port (port: 0)",
                   &s);
    }

    void backends(const Service& s, const std::string& p) {
        if (!index_.valid(p + ".backends")) return;
        if (s.backends.empty()) {
            report(Severity::warning, p + ".backends", s.location,
                   "no backends: every packet for this service is dropped");
            return;
        }
        const bool none_takes_new = std::none_of(s.backends.begin(), s.backends.end(), [](const Backend& b) {
            return b.weight > 0 && b.state == BackendState::active;
        });
        if (none_takes_new)
            report(Severity::warning, p + ".backends", s.location,
                   "every backend is draining or has weight 0: new flows are dropped");
    }

    void health(const Service& s, const std::string& p) {
        const HealthCheck& h = s.health;
        const std::string hp = p + ".health";
        if (h.kind == HealthKind::none || !index_.valid(hp + ".kind")) return;
        health_timing(s, p);
        const bool uses_port = h.kind != HealthKind::exec;
        if (uses_port && h.port == 0 && s.port == 0 && index_.valid(hp + ".port") && index_.valid(p + ".port"))
            report(Severity::error, hp + ".port", h.location,
                   "the service takes every port (port 0), so a " + std::string(to_string(h.kind)) +
                       " check needs health.port",
                   &s);
        if (h.kind == HealthKind::exec && h.exec.command.empty() && index_.valid(hp + ".exec.command"))
            report(Severity::error, hp + ".exec.command", h.location, "missing: an exec check needs a command to run",
                   &s);
    }

    void health_timing(const Service& s, const std::string& p) {
        const HealthCheck& h = s.health;
        const std::string hp = p + ".health";
        if (!index_.valid(hp + ".timeout") || !index_.valid(hp + ".interval") || h.timeout < h.interval) return;
        // Both inherited: one finding about defaults, not one per service.
        const bool inherited =
            !index_.written_in_service(hp + ".timeout") && !index_.written_in_service(hp + ".interval");
        report(Severity::error, hp + ".timeout", h.location,
               format_duration(h.timeout) + " is not shorter than the interval " + format_duration(h.interval) +
                   " (a check must end before the next one starts)",
               inherited ? nullptr : &s);
    }

    const Catalogue& c_;
    const FieldIndex& index_;
    std::vector<Diagnostic> out_;
};

}  // namespace

std::vector<Diagnostic> validate(const Catalogue& catalogue, const FieldIndex& index) {
    return Validator(catalogue, index).run();
}

std::vector<Diagnostic> validate_defaults(const Service& inherited, const FieldIndex& index) {
    const Catalogue none;
    return Validator(none, index).run_defaults(inherited);
}

}  // namespace julier::config
