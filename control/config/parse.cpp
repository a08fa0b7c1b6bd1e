#include "config/parse.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/duration.h"
#include "config/field_index.h"
#include "config/schema.h"
#include "config/validate.h"
#include "config/yaml_load.h"
#include "config/yaml_reader.h"

namespace julier::config {

namespace {

using Keys = std::vector<std::string_view>;
using schema::Section;

const Keys top_keys = schema::keys(Section::top);
// Service fields that `defaults` may set; the others name one service only.
const Keys defaultable_keys = schema::keys(Section::service, schema::defaultable);
const Keys service_only_keys = schema::keys_without(Section::service, schema::defaultable);
const Keys interface_keys = schema::keys(Section::interface);
const Keys metrics_keys = schema::keys(Section::metrics);
const Keys limits_keys = schema::keys(Section::limits);
const Keys flood_keys = schema::keys(Section::flood_protection);
const Keys icmp_answers_keys = schema::keys(Section::icmp_answers);
const Keys encap_keys = schema::keys(Section::encap_source);
const Keys health_keys = schema::keys(Section::health);
const Keys http_keys = schema::keys(Section::http);
const Keys udp_keys = schema::keys(Section::udp);
const Keys dns_keys = schema::keys(Section::dns);
const Keys exec_keys = schema::keys(Section::exec);
const Keys backend_keys = schema::keys(Section::backend);
const Keys bgp_keys = schema::keys(Section::bgp);
const Keys neighbour_keys = schema::keys(Section::neighbour);
const Keys service_bgp_keys = schema::keys(Section::service_bgp);

Keys concat(const Keys& a, const Keys& b) {
    Keys out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

constexpr std::size_t max_file_bytes = 64u << 20;

Duration milliseconds(std::uint64_t ms) { return Duration(static_cast<Duration::rep>(ms)); }

// What one exec argument takes of exec's argument space: its text with each
// {address} and {port} at their longest, and its NUL.
std::size_t exec_argument_bytes(std::string_view arg) {
    std::size_t bytes = arg.size() + 1;
    for (auto [token, longest] : {std::pair<std::string_view, std::size_t>{"{address}", schema::max_address_text},
                                  std::pair<std::string_view, std::size_t>{"{port}", schema::max_port_text}}) {
        for (std::size_t at = arg.find(token); at != std::string_view::npos; at = arg.find(token, at + token.size()))
            if (longest > token.size()) bytes += longest - token.size();
    }
    return bytes;
}

bool valid_service_name(std::string_view name) {
    if (name.empty() || name.size() > 63 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
    return std::all_of(name.begin(), name.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool valid_interface_name(std::string_view name) {
    // IFNAMSIZ - 1 characters; '/' and ':' break sysfs paths and aliases.
    if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
    return std::none_of(name.begin(), name.end(),
                        [](unsigned char c) { return c == '/' || c == ':' || std::isspace(c) || !std::isprint(c); });
}

bool valid_dns_name(std::string_view name) {
    if (name == ".") return true;
    if (name.empty() || name.size() > 253) return false;
    if (name.back() == '.') name.remove_suffix(1);
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t dot = name.find('.', start);
        if (dot == std::string_view::npos) dot = name.size();
        const std::size_t len = dot - start;
        if (len == 0 || len > 63) return false;
        start = dot + 1;
    }
    return true;
}

bool has_blank(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) || !std::isprint(c); });
}

class CatalogueParser {
public:
    explicit CatalogueParser(Reader& reader) : r_(reader) {}

    // The service fields as `defaults` sets them, if there is a defaults mapping.
    const std::optional<Service>& defaults_template() const { return defaults_template_; }

    Catalogue parse(const Located& root) {
        cat_.location = r_.file_location();
        if (!r_.mapping(root, top_keys, {}, {}, true)) return cat_;
        const Layers top({root});

        if (auto v = top.get("xdp_mode"))
            if (auto m = r_.enumeration<XdpMode>(*v, "xdp_mode")) cat_.xdp_mode = *m;
        if (auto v = top.get("interfaces")) {
            interfaces(*v);
        } else {
            r_.error(root.location, "interfaces", "missing: list the network interfaces to attach to, e.g. [eth0]");
        }
        if (auto v = top.get("pin_dir")) pin_dir(*v);
        if (auto v = top.get("control_socket")) control_socket(*v);
        if (auto v = top.get("metrics")) metrics(*v);
        if (auto v = top.get("limits")) limits(*v);
        if (auto v = top.get("flood_protection")) flood_protection(*v);
        if (auto v = top.get("icmp_answers")) icmp_answers(*v);
        if (auto v = top.get("bgp")) bgp(*v);

        Layers defaults;
        if (auto v = top.get("defaults")) {
            if (r_.mapping(*v, defaultable_keys, service_only_keys, "can only be set per service, not in defaults")) {
                defaults = Layers({*v});
                // Read and checked once on their own, so that mistakes surface even
                // without services; each service re-reads what it inherits.
                Service inherited;
                service_fields(defaults, "defaults", inherited);
                defaults_template_ = std::move(inherited);
            }
        }

        if (auto v = top.get("services")) {
            if (v->node.IsNull()) {
                r_.warning(v->location, "services", "no services: every packet passes to the kernel");
            } else if (r_.sequence(*v)) {
                if (v->node.size() == 0)
                    r_.warning(v->location, "services", "no services: every packet passes to the kernel");
                const std::size_t n = within_limits(v->node);
                for (std::size_t i = 0; i < n && !r_.exhausted(); ++i) {
                    const YamlNode item = v->node[i];
                    service(Located{item, index_path("services", i), r_.where(item, v->location)}, defaults);
                }
            }
        } else {
            r_.warning(root.location, "services", "no services: every packet passes to the kernel");
        }
        return cat_;
    }

private:
    // How many of `services` to read. YAML aliases let a small file name a service
    // or a backend list many times over (20 000 aliases of a service with 20 000
    // backends fit in 300 kB), so what is read is bounded before anything is built:
    // at most the larger of each limit and a fixed allowance (so that a catalogue
    // a little over a limit still gets every finding). Past that, the declared
    // count is reported here and the rest is not read.
    std::size_t within_limits(const YamlNode& services) {
        const Limits& l = cat_.limits;
        const std::size_t declared = services.size();
        const std::size_t n = std::min<std::size_t>(declared, std::max<std::size_t>(l.max_services, read_services_));
        LimitUse unread;  // only what is over and left unread is reported here
        if (n < declared) unread.services = declared;

        std::uint64_t backends = 0;  // counted without reading them: sizes only
        for (std::size_t i = 0; i < declared; ++i) {
            const YamlNode item = services[i];
            if (!item.IsMap()) continue;
            if (auto b = Layers({Located{item, {}, {}}}).get("backends"); b && b->node.IsSequence())
                backends += b->node.size();
        }
        backends_left_ = std::max<std::size_t>(l.max_backends, read_backends_);
        if (backends > backends_left_) unread.backends = backends;
        for (const LimitExcess& excess : exceeded(unread, l)) {
            const std::string field = "limits." + excess.key;
            r_.error(r_.index().find(field, r_.file_location()).location, field, excess.message);
            r_.index().mark_invalid(field);  // counted here; validate() stays quiet
        }
        return n;
    }

    void interfaces(const Located& v) {
        if (!r_.sequence(v)) return;
        if (v.node.size() == 0) {
            r_.invalid(v, "interfaces", "at least one interface is needed");
            return;
        }
        for (std::size_t i = 0; i < v.node.size(); ++i) {
            const Located item{v.node[i], index_path("interfaces", i), r_.where(v.node[i], v.location)};
            Interface iface;
            iface.xdp_mode = cat_.xdp_mode;
            iface.location = item.location;
            std::optional<Located> name;
            if (item.node.IsScalar()) {
                name = Located{item.node, item.path, item.location};
            } else if (item.node.IsMap()) {
                r_.mapping(item, interface_keys);
                const Layers layer({item});
                name = layer.get("name");
                if (!name)
                    r_.error(item.location, join_path(item.path, "name"), "missing (every interface needs a name)");
                if (auto m = layer.get("xdp_mode"))
                    if (auto mode = r_.enumeration<XdpMode>(*m, join_path(item.path, "xdp_mode")))
                        iface.xdp_mode = *mode;
            } else {
                r_.invalid(item, item.path, "expected an interface name or {name: ..., xdp_mode: ...}");
                continue;
            }
            if (!name) continue;
            auto text = r_.string(*name, name->path);
            if (!text) continue;
            if (!valid_interface_name(*text)) {
                r_.invalid(
                    *name, name->path,
                    Reader::quote(*text) + " is not a valid interface name (1-15 characters, no '/', ':' or blanks)");
                continue;
            }
            iface.name = *text;
            cat_.interfaces.push_back(std::move(iface));
        }
    }

    std::optional<std::string> absolute_path(const Located& v, const std::string& field) {
        auto text = r_.string(v, field);
        if (!text) return std::nullopt;
        const std::filesystem::path p(*text);
        const bool dotdot = std::any_of(p.begin(), p.end(), [](const auto& part) { return part == ".."; });
        if (!p.is_absolute() || dotdot || has_blank(*text)) {
            r_.invalid(v, field, Reader::quote(*text) + " must be an absolute path without '..' or blanks");
            return std::nullopt;
        }
        return text;
    }

    void pin_dir(const Located& v) {
        if (auto p = absolute_path(v, "pin_dir")) cat_.pin_dir = *p;
    }

    void control_socket(const Located& v) {
        auto p = absolute_path(v, "control_socket");
        if (!p) return;
        if (p->size() > schema::max_socket_path) {
            r_.invalid(v, "control_socket",
                       "path is " + std::to_string(p->size()) + " characters long (a Unix socket path allows at most " +
                           std::to_string(schema::max_socket_path) + ")");
            return;
        }
        cat_.control_socket = *p;
    }

    void metrics(const Located& v) {
        cat_.metrics.location = v.location;
        if (!r_.mapping(v, metrics_keys)) return;
        auto listen = Layers({v}).get("listen");
        if (!listen) return;
        auto text = r_.string(*listen, "metrics.listen");
        if (!text) return;
        if (text->empty() || *text == "off") {
            cat_.metrics.enabled = false;
            return;
        }
        auto ep = common::Endpoint::parse(*text);
        if (!ep || ep->port == 0) {
            r_.invalid(*listen, "metrics.listen",
                       Reader::quote(*text) +
                           " is not address:port (e.g. 127.0.0.1:9641 or [::1]:9641; \"\" or off disables)");
            return;
        }
        cat_.metrics.enabled = true;
        cat_.metrics.address = ep->address;
        cat_.metrics.port = ep->port;
        cat_.metrics.location = listen->location;
    }

    void limits(const Located& v) {
        r_.index().record("limits", v.location, "limits");  // where findings about the limits point
        if (!r_.mapping(v, limits_keys)) return;
        const Layers layer({v});
        uint_field(layer, schema::field(Section::limits, "max_services"), "limits", cat_.limits.max_services);
        uint_field(layer, schema::field(Section::limits, "max_backends"), "limits", cat_.limits.max_backends);
        uint_field(layer, schema::field(Section::limits, "ring_capacity"), "limits", cat_.limits.ring_capacity);
        uint_field(layer, schema::field(Section::limits, "max_flows"), "limits", cat_.limits.max_flows);
    }

    void flood_protection(const Located& v) {
        cat_.flood_protection.location = v.location;
        if (!r_.mapping(v, flood_keys)) return;
        if (auto x = Layers({v}).get("new_flow_rate_per_cpu")) {
            const schema::Field& f = schema::field(Section::flood_protection, "new_flow_rate_per_cpu");
            if (auto n = r_.integer(*x, x->path, f.min, f.max)) {
                cat_.flood_protection.new_flow_rate_per_cpu = static_cast<std::uint32_t>(*n);
                cat_.flood_protection.location = x->location;
            }
        }
    }

    void icmp_answers(const Located& v) {
        cat_.icmp_answers.location = v.location;
        if (!r_.mapping(v, icmp_answers_keys)) return;
        if (auto x = Layers({v}).get("rate_per_cpu")) {
            const schema::Field& f = schema::field(Section::icmp_answers, "rate_per_cpu");
            if (auto n = r_.integer(*x, x->path, f.min, f.max)) {
                cat_.icmp_answers.rate_per_cpu = static_cast<std::uint32_t>(*n);
                cat_.icmp_answers.location = x->location;
            }
        }
    }

    std::optional<std::string> absolute_path(const Located& v, const std::string& field, std::size_t max_len) {
        auto p = r_.string(v, field);
        if (!p) return std::nullopt;
        if (p->empty() || (*p)[0] != '/' || has_blank(*p) || p->size() > max_len || p->find('"') != std::string::npos) {
            r_.invalid(v, field,
                       Reader::quote(*p) + " must be an absolute path without blanks or quotes, at most " +
                           std::to_string(max_len) + " characters");
            return std::nullopt;
        }
        return p;
    }

    void bgp(const Located& v) {
        Bgp b;
        b.location = v.location;
        if (!v.node.IsNull() && !r_.mapping(v, bgp_keys)) return;
        r_.index().record("bgp", v.location, "bgp");
        const Layers l(v.node.IsNull() ? std::vector<Located>{} : std::vector<Located>{v});
        if (auto x = l.get("bird_include"))
            if (auto p = absolute_path(*x, "bgp.bird_include", 4000)) b.bird_include = *p;
        if (auto x = l.get("bird_socket"))
            if (auto p = absolute_path(*x, "bgp.bird_socket", schema::max_socket_path)) b.bird_socket = *p;
        if (auto x = l.get("local_as")) {
            const schema::Field& f = schema::field(Section::bgp, "local_as");
            if (auto n = r_.integer(*x, "bgp.local_as", f.min, f.max)) b.local_as = static_cast<std::uint32_t>(*n);
        }
        if (auto x = l.get("router_id"))
            if (auto ip = r_.address(*x, "bgp.router_id", 4)) b.router_id = *ip;
        duration_field(l, schema::field(Section::bgp, "hold_down"), "bgp", b.hold_down);
        duration_field(l, schema::field(Section::bgp, "teardown_grace"), "bgp", b.teardown_grace);
        if (auto x = l.get("withdraw_on_stop"))
            if (auto f = r_.boolean(*x, "bgp.withdraw_on_stop")) b.withdraw_on_stop = *f;
        if (auto x = l.get("neighbours")) {
            r_.index().record("bgp.neighbours", x->location, "bgp.neighbours");
            if (!x->node.IsNull() && r_.sequence(*x)) {
                for (std::size_t i = 0; i < x->node.size(); ++i) {
                    const Located item{x->node[i], index_path("bgp.neighbours", i), r_.where(x->node[i], x->location)};
                    if (!r_.mapping(item, neighbour_keys)) continue;
                    r_.index().record(item.path, item.location, item.path);
                    const Layers nl({item});
                    BgpNeighbour n;
                    n.location = item.location;
                    auto addr = nl.get("address");
                    auto as = nl.get("as");
                    if (!addr || !as) {
                        r_.index().mark_invalid(item.path);
                        r_.error(item.location, join_path(item.path, addr ? "as" : "address"),
                                 "missing (every neighbour needs address and as)");
                        continue;
                    }
                    if (auto ip = r_.address(*addr, addr->path)) n.address = *ip;
                    const schema::Field& as_field = schema::field(Section::neighbour, "as");
                    if (auto a = r_.integer(*as, as->path, as_field.min, as_field.max))
                        n.as = static_cast<std::uint32_t>(*a);
                    const schema::Field& hold = schema::field(Section::neighbour, "hold_time");
                    if (auto h = nl.get("hold_time"))
                        if (auto d = r_.duration(*h, h->path, milliseconds(hold.min), milliseconds(hold.max))) {
                            if (d->count() % 1000 != 0)
                                r_.invalid(*h, h->path, "BGP hold times are whole seconds");
                            else
                                n.hold_time = *d;
                        }
                    b.neighbours.push_back(std::move(n));
                }
            }
        }
        cat_.bgp = std::move(b);
    }

    std::optional<Community> community(const Located& v, const std::string& field) {
        auto text = r_.scalar(v, field, "a community like \"65000:100\" or \"65000:1:2\"");
        if (!text) return std::nullopt;
        Community c;
        std::string_view rest = *text;
        bool ok = !rest.empty();
        while (ok) {
            const auto colon = rest.find(':');
            const std::string_view part = rest.substr(0, colon);
            ok = !part.empty() && part.size() <= 10 &&
                 std::all_of(part.begin(), part.end(), [](unsigned char ch) { return std::isdigit(ch); });
            if (!ok) break;
            const std::uint64_t n = std::stoull(std::string(part));
            ok = n <= schema::max_as;
            c.parts.push_back(static_cast<std::uint32_t>(n));
            if (colon == std::string_view::npos) break;
            rest = rest.substr(colon + 1);
        }
        ok = ok && (c.parts.size() == 3 || (c.parts.size() == 2 && c.parts[0] <= 65535 && c.parts[1] <= 65535));
        if (!ok) {
            r_.invalid(v, field,
                       Reader::quote(*text) +
                           " is not a community: use \"A:B\" (standard, each 0-65535) or \"A:B:C\" "
                           "(large, each 0-4294967295)");
            return std::nullopt;
        }
        for (std::size_t i = 0; i < c.parts.size(); ++i) c.text += (i ? ":" : "") + std::to_string(c.parts[i]);
        return c;
    }

    void service_bgp(const Layers& parent, const std::string& prefix, ServiceBgp& out) {
        const Layers l = nested(parent, "bgp", service_bgp_keys);
        uint_field(l, schema::field(Section::service_bgp, "min_healthy_backends"), prefix, out.min_healthy_backends);
        if (auto v = l.get("med")) {
            const schema::Field& f = schema::field(Section::service_bgp, "med");
            if (auto n = r_.integer(*v, join_path(prefix, "med"), f.min, f.max))
                out.med = static_cast<std::uint32_t>(*n);
        }
        if (auto v = l.get("communities")) {
            const std::string field = join_path(prefix, "communities");
            if (!v->node.IsSequence()) {
                r_.invalid(*v, field, "expected a list of communities, e.g. [\"65000:100\"]");
                return;
            }
            std::vector<Community> all;
            std::size_t bytes = 0;  // on the wire
            for (std::size_t i = 0; i < v->node.size(); ++i) {
                const Located item{v->node[i], index_path(v->path, i), r_.where(v->node[i], v->location)};
                auto c = community(item, field);
                if (!c) return;
                bytes += c->parts.size() == 3 ? 12 : 4;
                if (bytes > schema::max_community_bytes) {
                    r_.invalid(item, field,
                               "the communities up to this one take " + std::to_string(bytes) +
                                   " bytes of a BGP UPDATE, more than " + std::to_string(schema::max_community_bytes) +
                                   " (4 bytes a standard community, 12 a large one: at most 1000 standard or 333 "
                                   "large)");
                    return;
                }
                all.push_back(std::move(*c));
            }
            out.communities = std::move(all);
            r_.recorded(*v, field);
        }
    }

    // The mappings under `key` in every layer, each checked for its keys.
    Layers nested(const Layers& parent, std::string_view key, const Keys& keys) {
        for (const Located& layer : parent.maps())
            if (auto v = Layers({layer}).get(key)) r_.mapping(*v, keys);
        return parent.child(key);
    }

    // An integer field within its bounds in the schema.
    template <typename T>
    void uint_field(const Layers& l, const schema::Field& f, const std::string& prefix, T& out) {
        if (auto v = l.get(f.key))
            if (auto n = r_.integer(*v, join_path(prefix, f.key), f.min, f.max)) out = static_cast<T>(*n);
    }

    template <typename E>
    void enum_field(const Layers& l, std::string_view key, const std::string& prefix, E& out) {
        if (auto v = l.get(key))
            if (auto e = r_.enumeration<E>(*v, join_path(prefix, key))) out = *e;
    }

    void string_field(const Layers& l, std::string_view key, const std::string& prefix, std::string& out,
                      std::size_t max_bytes) {
        if (auto v = l.get(key))
            if (auto s = r_.string(*v, join_path(prefix, key), max_bytes)) out = *s;
    }

    void duration_field(const Layers& l, const schema::Field& f, const std::string& prefix, Duration& out) {
        if (auto v = l.get(f.key))
            if (auto d = r_.duration(*v, join_path(prefix, f.key), milliseconds(f.min), milliseconds(f.max))) out = *d;
    }

    // 0s (never), or 1s-1h: last-seen times are refreshed every JL_UDP_REFRESH_NS, so a
    // shorter timeout would expire flows that are not idle.
    void udp_idle_timeout(const Layers& l, const std::string& prefix, Duration& out) {
        const schema::Field& f = schema::field(Section::service, "udp_idle_timeout");
        auto v = l.get(f.key);
        if (!v) return;
        const std::string field = join_path(prefix, f.key);
        auto d = r_.duration(*v, field, milliseconds(f.min), milliseconds(f.max));
        if (!d) return;
        if (d->count() != 0 && *d < std::chrono::seconds(1)) {
            r_.invalid(*v, field,
                       format_duration(*d) +
                           " is shorter than 1s (allowed: 0s for never, or 1s to 1h: a busy flow's last-seen time "
                           "is refreshed only every 250ms)");
            return;
        }
        out = *d;
    }

    // Every field `defaults` may set, from the first layer that has it.
    void service_fields(const Layers& l, const std::string& prefix, Service& s) {
        enum_field(l, "forwarding", prefix, s.forwarding);
        uint_field(l, schema::field(Section::service, "ring_size"), prefix, s.ring_size);
        enum_field(l, "hash", prefix, s.hash);
        uint_field(l, schema::field(Section::service, "mtu"), prefix, s.mtu);
        uint_field(l, schema::field(Section::service, "gue_port"), prefix, s.gue_port);
        uint_field(l, schema::field(Section::service, "outer_ttl"), prefix, s.outer_ttl);
        udp_idle_timeout(l, prefix, s.udp_idle_timeout);
        enum_field(l, "when_all_down", prefix, s.when_all_down);
        if (auto v = l.get("answer_ping"))
            if (auto b = r_.boolean(*v, join_path(prefix, "answer_ping"))) s.answer_ping = *b;

        const std::string encap = join_path(prefix, "encap_source");
        const Layers e = nested(l, "encap_source", encap_keys);
        if (auto v = e.get("ipv4"))
            if (auto ip = r_.address(*v, join_path(encap, "ipv4"), 4)) s.encap_source.ipv4 = *ip;
        if (auto v = e.get("ipv6"))
            if (auto ip = r_.address(*v, join_path(encap, "ipv6"), 6)) s.encap_source.ipv6 = *ip;
        uint_field(e, schema::field(Section::encap_source, "entropy_bits"), encap, s.encap_source.entropy_bits);

        health(l, join_path(prefix, "health"), s.health);
        service_bgp(l, join_path(prefix, "bgp"), s.bgp);
    }

    void health(const Layers& parent, const std::string& prefix, HealthCheck& h) {
        const Layers l = nested(parent, "health", health_keys);
        if (!l.maps().empty()) {
            h.location = l.maps().front().location;
            r_.index().record(prefix, h.location, l.maps().front().path);
        }
        enum_field(l, "kind", prefix, h.kind);
        duration_field(l, schema::field(Section::health, "interval"), prefix, h.interval);
        duration_field(l, schema::field(Section::health, "timeout"), prefix, h.timeout);
        uint_field(l, schema::field(Section::health, "rise"), prefix, h.rise);
        uint_field(l, schema::field(Section::health, "fall"), prefix, h.fall);
        uint_field(l, schema::field(Section::health, "port"), prefix, h.port);
        duration_field(l, schema::field(Section::health, "slow_start"), prefix, h.slow_start);

        const std::string http = join_path(prefix, "http");
        const Layers hl = nested(l, "http", http_keys);
        if (auto v = hl.get("path"))
            if (auto p = r_.string(*v, join_path(http, "path"))) {
                if (p->empty() || (*p)[0] != '/' || has_blank(*p))
                    r_.invalid(*v, join_path(http, "path"),
                               Reader::quote(*p) + " must start with '/' and contain no blanks");
                else
                    h.http.path = *p;
            }
        for (std::string_view key : {"host", "sni"}) {
            std::string& out = key == "host" ? h.http.host : h.http.sni;
            if (auto v = hl.get(key))
                if (auto s = r_.string(*v, join_path(http, key))) {
                    if (has_blank(*s))
                        r_.invalid(*v, join_path(http, key), Reader::quote(*s) + " must contain no blanks");
                    else
                        out = *s;
                }
        }
        string_field(hl, "expect_body", http, h.http.expect_body, schema::max_expect_body_bytes);
        if (auto v = hl.get("verify_tls"))
            if (auto b = r_.boolean(*v, join_path(http, "verify_tls"))) h.http.verify_tls = *b;
        if (auto v = hl.get("expect_status")) expect_status(*v, join_path(http, "expect_status"), h.http);

        const std::string udp = join_path(prefix, "udp");
        const Layers ul = nested(l, "udp", udp_keys);
        string_field(ul, "payload", udp, h.udp.payload, schema::max_datagram_bytes);
        string_field(ul, "expect", udp, h.udp.expect, schema::max_datagram_bytes);

        const std::string dns = join_path(prefix, "dns");
        const Layers dl = nested(l, "dns", dns_keys);
        if (auto v = dl.get("name"))
            if (auto n = r_.string(*v, join_path(dns, "name"))) {
                if (valid_dns_name(*n))
                    h.dns.name = *n;
                else
                    r_.invalid(*v, join_path(dns, "name"), Reader::quote(*n) + " is not a domain name");
            }
        if (auto v = dl.get("type")) dns_type(*v, join_path(dns, "type"), h.dns);

        const std::string exec = join_path(prefix, "exec");
        const Layers xl = nested(l, "exec", exec_keys);
        if (auto v = xl.get("command")) exec_command(*v, join_path(exec, "command"), h.exec);
    }

    void expect_status(const Located& v, const std::string& field, HttpCheck& http) {
        std::vector<std::uint16_t> codes;
        bool ok = true;
        auto one = [&](const Located& item) {
            const schema::Field& f = schema::field(Section::http, "expect_status");
            if (auto n = r_.integer(item, field, f.min, f.max))
                codes.push_back(static_cast<std::uint16_t>(*n));
            else
                ok = false;
        };
        if (v.node.IsSequence()) {
            for (std::size_t i = 0; i < v.node.size(); ++i)
                one(Located{v.node[i], index_path(v.path, i), r_.where(v.node[i], v.location)});
            if (v.node.size() == 0) {
                r_.invalid(v, field, "at least one status code is needed");
                ok = false;
            }
        } else {
            one(v);
        }
        if (ok) {
            http.expect_status = std::move(codes);
            r_.recorded(v, field);
        }
    }

    void dns_type(const Located& v, const std::string& field, DnsCheck& dns) {
        auto text = r_.string(v, field);
        if (!text) return;
        std::string upper = *text;
        std::transform(upper.begin(), upper.end(), upper.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        std::string names;
        for (const schema::DnsType& t : schema::dns_types) {
            if (t.name == upper) {
                dns.type = t.number;
                return;
            }
            names += (names.empty() ? "" : ", ") + std::string(t.name);
        }
        r_.invalid(v, field, Reader::quote(*text) + " is not one of: " + names);
    }

    void exec_command(const Located& v, const std::string& field, ExecCheck& exec) {
        if (!v.node.IsSequence()) {
            r_.invalid(v, field,
                       "expected a list: the program and its arguments, e.g. [/usr/lib/julier/check, \"{address}\"]");
            return;
        }
        std::vector<std::string> argv;
        std::size_t bytes = 0;  // as exec will take them: substituted, each with its NUL
        for (std::size_t i = 0; i < v.node.size(); ++i) {
            const Located item{v.node[i], index_path(v.path, i), r_.where(v.node[i], v.location)};
            auto s = r_.scalar(item, field, "a string");
            if (!s) return;
            bytes += exec_argument_bytes(*s);
            if (bytes > schema::max_exec_argv_bytes) {
                r_.invalid(item, field,
                           "the arguments up to this one take " + std::to_string(bytes) +
                               " bytes once {address} and {port} are filled in, more than the " +
                               std::to_string(schema::max_exec_argv_bytes) +
                               " exec is sure to take; pass long data in a file");
                return;
            }
            argv.push_back(std::move(*s));
        }
        if (argv.empty()) {
            r_.invalid(v, field, "the list is empty: name the program to run");
            return;
        }
        if (argv[0].empty() || argv[0][0] != '/') {
            const Located first{v.node[0], index_path(v.path, 0), r_.where(v.node[0], v.location)};
            r_.invalid(first, field, Reader::quote(argv[0]) + " must be an absolute path (no PATH lookup is done)");
            return;
        }
        exec.command = std::move(argv);
        r_.recorded(v, field);
    }

    void service(const Located& item, const Layers& defaults) {
        if (!r_.mapping(item, concat(service_only_keys, defaultable_keys))) return;
        Service s;
        s.location = item.location;
        s.health.location = item.location;
        r_.index().record(item.path, item.location, item.path);
        const Layers own({item});
        auto required = [&](std::string_view key) {
            auto v = own.get(key);
            if (!v) {
                r_.index().mark_invalid(join_path(item.path, key));
                r_.error(item.location, join_path(item.path, key), "missing (every service needs name, vip and port)");
            }
            return v;
        };

        if (auto v = required("name"))
            if (auto name = r_.string(*v, v->path)) {
                if (valid_service_name(*name))
                    s.name = *name;
                else
                    r_.invalid(*v, v->path,
                               Reader::quote(*name) +
                                   " is not a valid name (1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit)");
            }
        if (auto v = required("vip"))
            if (auto ip = r_.address(*v, v->path)) s.vip = *ip;
        if (auto v = required("port")) {
            const schema::Field& f = schema::field(Section::service, "port");
            if (auto n = r_.integer(*v, v->path, f.min, f.max)) s.port = static_cast<std::uint16_t>(*n);
        }
        enum_field(own, "protocol", item.path, s.protocol);

        std::vector<Located> layers{item};
        layers.insert(layers.end(), defaults.maps().begin(), defaults.maps().end());
        service_fields(Layers(std::move(layers)), item.path, s);

        // Built-in defaults have no origin of their own: point at the service.
        if (auto v = own.get("backends")) {
            backends(*v, s);
        } else {
            r_.index().record(join_path(item.path, "backends"), item.location, join_path(item.path, "backends"));
        }
        cat_.services.push_back(std::move(s));
    }

    void backends(const Located& v, Service& s) {
        r_.index().record(v.path, v.location, v.path);
        if (v.node.IsNull()) return;  // "backends:" with nothing: an empty list
        if (!r_.sequence(v)) return;
        const std::size_t n = std::min<std::size_t>(v.node.size(), backends_left_);
        backends_left_ -= n;
        for (std::size_t i = 0; i < n; ++i) {
            const Located item{v.node[i], index_path(v.path, i), r_.where(v.node[i], v.location)};
            Backend b;
            b.location = item.location;
            r_.index().record(item.path, item.location, item.path);
            std::optional<Located> address;
            if (item.node.IsScalar()) {
                address = Located{item.node, join_path(item.path, "address"), item.location};
            } else if (r_.mapping(item, backend_keys)) {
                const Layers l({item});
                address = l.get("address");
                if (!address) {
                    r_.index().mark_invalid(join_path(item.path, "address"));
                    r_.error(item.location, join_path(item.path, "address"),
                             "missing (every backend needs an address)");
                }
                uint_field(l, schema::field(Section::backend, "weight"), item.path, b.weight);
                enum_field(l, "state", item.path, b.state);
            } else {
                continue;
            }
            if (address)
                if (auto ip = r_.address(*address, address->path)) b.address = *ip;
            s.backends.push_back(std::move(b));
        }
    }

    Reader& r_;
    Catalogue cat_;
    // Read at least this many services and backends, however low the limits.
    static constexpr std::size_t read_services_ = 1 << 12;
    static constexpr std::size_t read_backends_ = 1 << 14;
    std::size_t backends_left_ = 0;  // still to be read, for the services still to read
    std::optional<Service> defaults_template_;
};

}  // namespace

ParseResult parse_catalogue_text(std::string_view text, const std::string& name) {
    ParseResult result;
    FieldIndex index;
    Reader reader(name, result.diagnostics, index);

    const LoadedDocument doc = load_single_document(text, reader);
    if (doc.status == LoadedDocument::Status::failed) return result;
    if (doc.status == LoadedDocument::Status::empty) {
        reader.error(reader.file_location(), {}, "the file is empty (expected a mapping with interfaces and services)");
        return result;
    }
    const Located root{doc.root, {}, reader.where(doc.root, {name, 1, 1})};
    if (!root.node.IsMap()) {
        reader.error(root.location, {}, "the top level must be a mapping (interfaces:, services:, ...)");
        sort_and_deduplicate(result.diagnostics);
        return result;
    }

    CatalogueParser parser(reader);
    Catalogue catalogue = parser.parse(root);
    auto findings = validate(catalogue, index);
    result.diagnostics.insert(result.diagnostics.end(), findings.begin(), findings.end());
    if (const auto& inherited = parser.defaults_template()) {
        findings = validate_defaults(*inherited, index);
        result.diagnostics.insert(result.diagnostics.end(), findings.begin(), findings.end());
    }
    sort_and_deduplicate(result.diagnostics);
    if (result.errors() == 0) result.catalogue = std::move(catalogue);
    return result;
}

ParseResult parse_catalogue_file(const std::string& path) {
    auto fail = [&](const std::string& message) {
        ParseResult result;
        result.diagnostics.push_back(Diagnostic{Severity::error, {path, 0, 0}, {}, message});
        return result;
    };
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec) return fail("cannot read: " + ec.message());
    if (std::filesystem::is_directory(status)) return fail("cannot read: is a directory");
    if (!std::filesystem::is_regular_file(status)) return fail("cannot read: not a regular file");
    if (std::filesystem::file_size(path, ec) > max_file_bytes || ec)
        return fail(ec ? "cannot read: " + ec.message()
                       : "larger than " + std::to_string(max_file_bytes >> 20) + " MiB; not a catalogue");

    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(std::string("cannot read: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return fail(std::string("cannot read: ") + std::strerror(errno));
    return parse_catalogue_text(text.str(), path);
}

}  // namespace julier::config
