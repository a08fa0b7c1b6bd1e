// The catalogue's fields, each declared once: key, type, default, bounds and a
// one-line doc. The parser takes its key lists and bounds from this table,
// catalogue.h its numeric and enum defaults, and the field reference in
// config/README.md is generated from it (julier-config-reference, run by
// `make config-reference`; a unit test fails when the README differs).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/enum_names.h"
#include "julier/abi.h"
#include "maglev/maglev.h"

namespace julier::config::schema {

// Every mapping of the file that has keys of its own.
enum class Section {
    top,
    interface,  // an item of interfaces
    metrics,
    limits,
    flood_protection,
    icmp_answers,
    bgp,
    neighbour,  // an item of bgp.neighbours
    service,    // an item of services (and, for defaultable keys, defaults)
    encap_source,
    service_bgp,  // a service's bgp
    health,
    http,
    udp,
    dns,
    exec,
    backend,  // an item of a service's backends
};

enum class Type { integer, duration, enumeration, other };  // what `fallback`, `min` and `max` count

enum Flags : unsigned { none = 0, required = 1, defaultable = 2 };

struct Field {
    Section section;
    std::string_view key;
    Type type;
    std::string_view type_text;                   // as the reference shows it
    std::uint64_t fallback;                       // the default of an integer, duration (ms) or enum (its value)
    bool numeric_fallback;                        // false: default_text says it
    std::string_view default_text;                // other defaults, as the reference shows them
    std::uint64_t min, max;                       // bounds of an integer or duration (ms)
    std::string (*choices)();                     // the allowed spellings, or nullptr
    std::string_view (*spelling)(std::uint64_t);  // an enum value's spelling, or nullptr
    std::string_view allowed;                     // rules beyond the bounds and choices
    std::string_view doc;
    unsigned flags;
};

template <typename E>
std::string choice_list() {
    std::string out;
    for (const auto& [name, value] : EnumNames<E>::table) out += (out.empty() ? "`" : ", `") + std::string(name) + "`";
    return out;
}

template <typename E>
constexpr std::string_view spelling(std::uint64_t value) {
    return enum_name(static_cast<E>(value));
}

constexpr Field integer(Section s, std::string_view key, std::uint64_t fallback, std::uint64_t min, std::uint64_t max,
                        std::string_view allowed, std::string_view doc, unsigned flags = none) {
    return {s, key, Type::integer, "integer", fallback, true, {}, min, max, nullptr, nullptr, allowed, doc, flags};
}
// An integer or duration whose default is no number ("none", "BIRD's").
constexpr Field unset(Section s, std::string_view key, Type type, std::string_view default_text, std::uint64_t min,
                      std::uint64_t max, std::string_view allowed, std::string_view doc, unsigned flags = none) {
    return {s,   key,     type,         type == Type::duration ? "duration" : "integer",
            0,   false,   default_text, min,
            max, nullptr, nullptr,      allowed,
            doc, flags};
}
constexpr Field duration(Section s, std::string_view key, std::uint64_t fallback_ms, std::uint64_t min_ms,
                         std::uint64_t max_ms, std::string_view allowed, std::string_view doc, unsigned flags = none) {
    return {s,      key,    Type::duration, "duration", fallback_ms, true, {},
            min_ms, max_ms, nullptr,        nullptr,    allowed,     doc,  flags};
}
template <typename E>
constexpr Field choice(Section s, std::string_view key, E fallback, std::string_view doc, unsigned flags = none) {
    return {s,
            key,
            Type::enumeration,
            "enum",
            static_cast<std::uint64_t>(fallback),
            true,
            {},
            0,
            0,
            &choice_list<E>,
            &spelling<E>,
            {},
            doc,
            flags};
}
// An enum whose default is no fixed value.
template <typename E>
constexpr Field choice_unset(Section s, std::string_view key, std::string_view default_text, std::string_view doc) {
    return {s, key, Type::enumeration, "enum",       0,  false, default_text,
            0, 0,   &choice_list<E>,   &spelling<E>, {}, doc,   none};
}
constexpr Field other(Section s, std::string_view key, std::string_view type_text, std::string_view default_text,
                      std::string_view allowed, std::string_view doc, unsigned flags = none) {
    return {s, key, Type::other, type_text, 0, false, default_text, 0, 0, nullptr, nullptr, allowed, doc, flags};
}

// The record types a dns check may query, by name (any case in the file).
struct DnsType {
    std::string_view name;
    std::uint16_t number;
};
inline constexpr DnsType dns_types[] = {{"A", 1},   {"NS", 2},   {"CNAME", 5}, {"SOA", 6}, {"PTR", 12},
                                        {"MX", 15}, {"TXT", 16}, {"AAAA", 28}, {"SRV", 33}};
std::string dns_type_list();
constexpr std::string_view dns_type_name(std::uint64_t number) {
    for (const DnsType& t : dns_types)
        if (t.number == number) return t.name;
    return "?";
}

inline constexpr std::uint64_t max_as = 4294967295u;
inline constexpr std::uint64_t hour_ms = 3600000;
// sizeof(sockaddr_un::sun_path) minus the terminating NUL.
inline constexpr std::size_t max_socket_path = 107;
// Text a catalogue's strings may hold, so that a value inherited from `defaults` by
// every service stays small. The body an http check keeps for matching (64 KiB)
// and the largest UDP payload bound their fields; other strings 4 KiB.
inline constexpr std::size_t max_string_bytes = 4096;
inline constexpr std::size_t max_expect_body_bytes = 64 * 1024;
inline constexpr std::size_t max_datagram_bytes = 65507;
// An exec check's arguments after `{address}` and `{port}` are filled in, each
// with its NUL: exec takes 128 KiB under any stack limit, half is left to the
// environment.
inline constexpr std::size_t max_exec_argv_bytes = 64 * 1024;
// The longest text `{address}` and `{port}` become.
inline constexpr std::size_t max_address_text = 39;
inline constexpr std::size_t max_port_text = 5;
// The communities of one route in one BGP UPDATE (4096 bytes with the other
// attributes): 4 bytes a standard community, 12 a large one.
inline constexpr std::size_t max_community_bytes = 4000;

// In each section, the order of the parser's key lists (they order "did you mean"
// and "allowed:" in messages) and of the reference.
inline constexpr Field fields[] = {
    // Top level.
    other(Section::top, "interfaces", "list", "—", "",
          "Network interfaces the forwarder attaches to, at least one. An item is a name (`eth0`) or a mapping "
          "`{name: eth0, xdp_mode: generic}`. Each at most once.",
          required),
    choice(Section::top, "xdp_mode", XdpMode::native,
           "Attach mode for interfaces that do not set their own. `native` runs in the driver; `generic` runs "
           "after the kernel has built an skb and is much slower: use it only where the driver has no XDP "
           "support."),
    other(Section::top, "pin_dir", "absolute path", "`" JL_PIN_DIR "`", "no `..` or blanks",
          "Directory on a bpffs where the maps are pinned, so that a restarted daemon keeps the connection "
          "table. `julierd --pin-dir` overrides it."),
    other(Section::top, "control_socket", "absolute path", "`/run/julier/julierd.sock`",
          "no `..` or blanks, at most 107 characters", "Unix socket of `julierctl`."),
    other(Section::top, "metrics", "mapping", "see `metrics.listen`", "", "Prometheus endpoint and status page."),
    other(Section::top, "limits", "mapping", "see [limits](#limits)", "", "Sizes of the BPF maps."),
    other(Section::top, "bgp", "mapping", "none", "",
          "Announce the VIPs over BGP through BIRD, see [bgp](#bgp). Without it julierd announces nothing."),
    other(Section::top, "defaults", "mapping", "—", "", "Values for any service field marked *defaultable*."),
    other(Section::top, "services", "list", "empty", "",
          "The services. With none, every packet passes to the kernel (a warning)."),
    other(Section::top, "flood_protection", "mapping", "see [flood protection](#flood-protection)", "",
          "New-flow flood protection of the connection table."),
    other(Section::top, "icmp_answers", "mapping", "see [ICMP answers](#icmp-answers)", "",
          "How many ICMP errors the forwarder itself sends."),

    other(Section::interface, "name", "string", "—", "1-15 characters, no `/`, `:` or blanks", "The interface.",
          required),
    choice_unset<XdpMode>(Section::interface, "xdp_mode", "the top-level `xdp_mode`", "Attach mode of this interface."),

    other(Section::metrics, "listen", "`address:port`", "`127.0.0.1:9641`", "",
          "Prometheus endpoint and status page (`/metrics`, `/`, `/api/...`), an IPv4 address or an IPv6 "
          "address in brackets (`[2001:db8::2]:9641`). `\"\"` or `off` disables it. Host names are not accepted "
          "(no DNS at start-up)."),

    // Map sizes: each bound keeps every derived BPF map size within 32 bits and sane memory.
    integer(Section::limits, "max_services", JL_DEFAULT_MAX_SERVICES, 1, 1u << 20, "",
            "Services (VIP, port, protocol)."),
    integer(Section::limits, "max_backends", JL_DEFAULT_MAX_BACKENDS, 1, 1u << 24, "",
            "Backends of all services together (each service's backends count separately, even when the address "
            "is shared)."),
    integer(Section::limits, "ring_capacity", JL_DEFAULT_RING_CAPACITY, 1, 1u << 30, "",
            "Maglev ring slots of all services together: the sum of every `ring_size`."),
    integer(Section::limits, "max_flows", JL_DEFAULT_MAX_FLOWS, 1, 1u << 30, "",
            "Entries of the connection table (least recently used entries are evicted)."),

    // The upper bound is far above what one CPU can insert into an LRU hash per second.
    integer(Section::flood_protection, "new_flow_rate_per_cpu", JL_DEFAULT_FLOOD_NEW_FLOW_RATE, 0, 100000000, "",
            "Connection-table writes per second on each CPU (a box with N receiving CPUs takes up to N times "
            "this). `0` turns the limit off."),

    // RFC 4443 2.4 (f): every ICMPv6 sender limits its rate; Linux sends 1000 per second.
    integer(Section::icmp_answers, "rate_per_cpu", JL_DEFAULT_ICMP_ANSWER_RATE, 0, 10000000, "",
            "ICMP answers per second on each CPU: Packet Too Big / fragmentation-needed and echo replies "
            "(`answer_ping`) share it. Over it the packet is dropped and counted as `icmp_rate_limited` or "
            "`echo_rate_limited`. `0` turns the limit off."),

    other(Section::bgp, "bird_include", "absolute path", "`/run/bird/julier.conf`",
          "no blanks or quotes, at most 4000 characters",
          "The file julierd owns; written whole (temporary file, then rename)."),
    other(Section::bgp, "bird_socket", "absolute path", "`/run/bird/bird.ctl`",
          "no blanks or quotes, at most 107 characters", "BIRD's control socket (`bird -s`)."),
    unset(Section::bgp, "local_as", Type::integer, "none", 1, max_as, "",
          "This box's AS; required when `neighbours` are listed."),
    other(Section::bgp, "router_id", "IPv4 address", "none", "",
          "Written as BIRD's `router id` (else BIRD picks one from its interfaces; then it must not be set in "
          "`bird.conf` as well)."),
    other(Section::bgp, "neighbours", "list", "empty", "`address` unique",
          "BGP peers. Empty: the operator's `bird.conf` defines the sessions and exports "
          "`proto = \"julier_vips4\"` / `\"julier_vips6\"`."),
    duration(Section::bgp, "hold_down", 30000, 0, hour_ms, "",
             "A VIP that becomes healthy again is announced only after staying healthy this long; withdrawal is "
             "immediate. `0s` announces at once."),
    duration(Section::bgp, "teardown_grace", 5000, 0, 600000, "",
             "`julierctl teardown` withdraws every VIP, then waits this long, forwarding as before, so that routers "
             "move the traffic elsewhere before the forwarder is detached. `julierctl teardown --grace` overrides "
             "it for one teardown."),
    other(Section::bgp, "withdraw_on_stop", "boolean", "`false`", "",
          "On `SIGTERM`/`SIGINT` withdraw every VIP before exiting (the forwarder keeps forwarding established "
          "flows either way). `julierctl teardown` always withdraws."),

    other(Section::neighbour, "address", "address", "—", "",
          "The peer; its family selects the channel (`ipv4` or `ipv6`) that carries the VIPs of that family.",
          required),
    unset(Section::neighbour, "as", Type::integer, "—", 1, max_as, "", "The peer's AS.", required),
    unset(Section::neighbour, "hold_time", Type::duration, "BIRD's (240s)", 3000, 65535000, "whole seconds",
          "BGP hold time; keepalive and connect retry are a third of it."),

    // A service. Keys without `defaultable` name one service only.
    other(Section::service, "name", "string", "—",
          "1-63 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit; unique",
          "Names the service in logs, metrics and `julierctl`.", required),
    other(Section::service, "vip", "address", "—", "unicast", "The virtual address clients connect to.", required),
    unset(Section::service, "port", Type::integer, "—", 0, 65535, "",
          "Destination port. `0` takes every port of the VIP and protocol (see [port 0](#port-0)).", required),
    choice(Section::service, "protocol", Protocol::tcp, "Transport protocol."),
    other(Section::service, "backends", "list", "empty", "",
          "The backends, see [backends](#backends). An empty list is allowed (a warning): the service then drops "
          "its packets."),
    choice(Section::service, "forwarding", Forwarding::l2,
           "How packets reach a backend, see [forwarding](#forwarding).", defaultable),
    integer(Section::service, "ring_size", JL_DEFAULT_RING_SIZE, 2, 1u << 30, "prime",
            "Slots of the service's Maglev ring. At least one per backend (error); fewer than 100 per backend "
            "spreads load unevenly (warning). A larger ring moves fewer flows when backends change and costs 8 "
            "bytes per slot per side.",
            defaultable),
    choice(Section::service, "hash", HashMode::five_tuple,
           "What picks the backend for a new flow: the whole flow (`5tuple`: addresses, ports, protocol), the "
           "client address only (`source`: every flow of a client goes to the same backend), the flow without "
           "the client's source port (`no_source_port`: all of a client's connections to one destination port "
           "share a backend), or the destination port and protocol only (`destination_port`: every flow to a port "
           "goes to one backend, for services on every port). Each holds while the backend set is stable.",
           defaultable),
    integer(Section::service, "mtu", JL_DEFAULT_MTU, 576, 9216, "at least 1280 when the service sends IPv6",
            "Largest packet sent on, outer header included. A larger packet gets ICMP \"fragmentation needed\" / "
            "\"packet too big\" if it may not be fragmented, else is dropped and counted.",
            defaultable),
    integer(Section::service, "gue_port", JL_DEFAULT_GUE_PORT, 1, 65535, "", "UDP destination port of GUE packets.",
            defaultable),
    integer(Section::service, "outer_ttl", JL_DEFAULT_OUTER_TTL, 1, 255, "", "TTL / hop limit of outer headers.",
            defaultable),
    other(Section::service, "encap_source", "mapping", "none", "", "Outer source addresses.", defaultable),
    // At least 1s: last-seen times are refreshed every quarter second, so expiry may come
    // that much early. At most an hour: NATs keep an idle UDP mapping for minutes (RFC 4787
    // asks for at least two), so a tuple idle longer is most likely another client's by then.
    duration(Section::service, "udp_idle_timeout", JL_DEFAULT_UDP_IDLE_TIMEOUT_MS, 0, hour_ms,
             "at least `1s` unless `0s`",
             "UDP services: a flow without a packet for this long loses its connection table entry; its next "
             "packet is placed by the ring again (and follows drains, weights and new backends). `0s`: entries "
             "never expire (they leave only when the table evicts them). Ignored for TCP.",
             defaultable),
    choice(Section::service, "when_all_down", WhenAllDown::drop,
           "When every backend fails its health check: `drop` the service's packets, or `keep` forwarding to every "
           "backend that is not draining, as if all were up (fail open: a possibly broken backend rather than "
           "none).",
           defaultable),
    other(Section::service, "answer_ping", "boolean", "`false`", "the same on every service of a VIP address",
          "ICMP echo requests (ping) to the VIP address are answered by the forwarder, within "
          "`icmp_answers.rate_per_cpu` (see [ping](#ping)); `false`: the kernel gets them, as any packet that is "
          "not for a service.",
          defaultable),
    other(Section::service, "health", "mapping", "see [health](#health)", "", "How backends are checked.", defaultable),
    other(Section::service, "bgp", "mapping", "none", "", "How the service takes part in its VIP's announcement.",
          defaultable),

    other(Section::encap_source, "ipv4", "IPv4 address", "none", "unicast",
          "Outer source of IPv4 outer headers (`ipip`, `gue` to IPv4 backends)."),
    other(Section::encap_source, "ipv6", "IPv6 address", "none", "unicast",
          "Outer source of IPv6 outer headers (`ip6ip6`, `ip4in6`, `gue` to IPv6 backends)."),
    integer(Section::encap_source, "entropy_bits", 0, 0, 16, "",
            "The low bits of the outer source address replaced by bits of the flow hash, so that receivers spread "
            "tunnelled flows over their queues. The addresses so formed must route back to this host."),

    other(Section::service_bgp, "communities", "list", "none",
          "`\"A:B\"` (each 0-65535) or `\"A:B:C\"` (large, each 0-4294967295); at most 1000 standard or 333 "
          "large (4000 bytes of one BGP UPDATE)",
          "Communities attached to the VIP's route."),
    unset(Section::service_bgp, "med", Type::integer, "none", 0, max_as, "", "MULTI_EXIT_DISC of the VIP's route."),
    integer(Section::service_bgp, "min_healthy_backends", 1, 1, 1u << 24, "",
            "The VIP is announced only while the service has at least this many backends getting new flows (up, "
            "not draining, weight > 0; a service failing open counts none). More than the service has backends: "
            "never announced (a warning)."),

    choice(Section::health, "kind", HealthKind::tcp,
           "`tcp`: a connection is accepted. `http`/`https`: a request gets an expected answer. `udp`: a datagram "
           "gets an answer. `dns`: a query gets a NOERROR answer. `exec`: a program exits 0. `none`: backends are "
           "always up."),
    duration(Section::health, "interval", 2000, 10, hour_ms, "", "Time between the starts of two checks of a backend."),
    duration(Section::health, "timeout", 1000, 1, hour_ms, "shorter than `interval`",
             "A check not finished by then fails. Also bounds `exec`."),
    integer(Section::health, "rise", 2, 1, 1000, "", "Passes in a row for a down backend to come up."),
    integer(Section::health, "fall", 3, 1, 1000, "", "Failures in a row for an up backend to go down."),
    integer(Section::health, "port", 0, 0, 65535, "",
            "Port checked; `0` is the service port. Required (non-zero) when the service has `port: 0`, except for "
            "`exec` and `none`."),
    duration(Section::health, "slow_start", 0, 0, hour_ms, "",
             "After coming up, a backend's weight ramps from 0 to its full value over this time."),
    other(Section::health, "http", "mapping", "", "", "`http` and `https` checks."),
    other(Section::health, "udp", "mapping", "", "", "`udp` checks."),
    other(Section::health, "dns", "mapping", "", "", "`dns` checks."),
    other(Section::health, "exec", "mapping", "", "", "`exec` checks."),

    other(Section::http, "path", "string", "`/`", "starts with `/`, no blanks, at most 4096 bytes", "Request path."),
    other(Section::http, "host", "string", "`\"\"`", "no blanks, at most 4096 bytes",
          "`Host` header (may carry `:port`); empty: the backend address."),
    integer(Section::http, "expect_status", 200, 100, 599, "one code or a list of at least one",
            "Status codes that pass."),
    other(Section::http, "expect_body", "string", "`\"\"`", "at most 65536 bytes (the body kept for matching)",
          "If set, the body must contain it."),
    other(Section::http, "verify_tls", "boolean", "`true`", "", "`https`: verify the backend's certificate."),
    other(Section::http, "sni", "string", "`\"\"`", "no blanks, at most 4096 bytes",
          "`https`: server name sent; empty: `http.host` if set, else none."),

    other(Section::udp, "payload", "string", "`\"\"`", "at most 65507 bytes", "Datagram sent."),
    other(Section::udp, "expect", "string", "`\"\"`", "at most 65507 bytes",
          "If set, the answer must start with it; empty: any answer passes."),

    other(Section::dns, "name", "string", "`.`", "a domain name", "Name queried."),
    {Section::dns,
     "type",
     Type::enumeration,
     "enum",
     1,
     true,
     {},
     0,
     0,
     &dns_type_list,
     &dns_type_name,
     "any case",
     "Record type queried.",
     none},

    other(Section::exec, "command", "list of strings", "none",
          "first item an absolute path; at most 65536 bytes in all, `{address}` counted as 39",
          "Program and arguments (required for `exec`). `{address}` and `{port}` in any argument become the "
          "backend address and the checked port. No shell, no `PATH` lookup."),

    other(Section::backend, "address", "address", "—",
          "unicast, unique within the service, not the VIP; family as [forwarding](#forwarding) allows", "The backend.",
          required),
    integer(Section::backend, "weight", 100, 0, maglev::kMaxWeight, "",
            "Share of new flows relative to the service's other backends. `0`: keeps its flows, gets no new ones."),
    choice(Section::backend, "state", BackendState::active,
           "`drain`: keeps its established flows, gets no new ones (for retiring a backend without cutting "
           "connections)."),
};

// The field `key` of `section`, found while compiling: a name not in the table
// does not compile.
consteval const Field& field(Section section, std::string_view key) {
    for (const Field& f : fields)
        if (f.section == section && f.key == key) return f;
    throw "schema: no such field";
}

// The default of an integer or duration field, for catalogue.h's initialisers.
consteval std::uint64_t fallback(Section section, std::string_view key) { return field(section, key).fallback; }

// The default of an enum field, for catalogue.h's initialisers.
template <typename E>
consteval E enum_fallback(Section section, std::string_view key) {
    return static_cast<E>(field(section, key).fallback);
}

// The keys of a section, in table order; with `flags`, only those with every flag.
std::vector<std::string_view> keys(Section section, unsigned flags = none);
// The keys of `section` that lack every flag in `flags` (a service's own keys).
std::vector<std::string_view> keys_without(Section section, unsigned flags);

// The field reference of config/README.md: one Markdown table per part of the
// file, each between `<!-- reference:NAME -->` and `<!-- /reference:NAME -->`.
struct ReferenceTable {
    std::string name;  // "top", "limits", "services", ...
    std::string text;  // the Markdown table, ending in a newline
};
std::vector<ReferenceTable> reference_tables();

// `readme` with every marked table replaced by the generated one; a table without
// markers in `readme` is left out.
std::string refresh_reference(const std::string& readme);

}  // namespace julier::config::schema
