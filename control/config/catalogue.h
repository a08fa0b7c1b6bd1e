// The service catalogue as a plain value: what the YAML file says, with every
// default applied. Produced by parse_catalogue_*(), consumed by the planner, the
// health checker and the daemon. No I/O, no YAML types.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip.h"
#include "common/source_location.h"
#include "config/enums.h"
#include "config/limits.h"
#include "config/schema.h"
#include "julier/abi.h"

namespace julier::config {

using common::IpAddress;
using common::SourceLocation;
using Duration = std::chrono::milliseconds;

// IP protocol number of a service protocol (IPPROTO_TCP / IPPROTO_UDP).
std::uint8_t ip_protocol_number(Protocol);

struct Interface {
    std::string name;
    XdpMode xdp_mode = XdpMode::native;
    SourceLocation location;

    bool operator==(const Interface&) const = default;
};

struct Metrics {
    bool enabled = true;
    IpAddress address = IpAddress::v4(127, 0, 0, 1);
    std::uint16_t port = 9641;
    SourceLocation location;

    // "127.0.0.1:9641" or "[::1]:9641"; empty when disabled.
    std::string listen() const;

    bool operator==(const Metrics&) const = default;
};

// New-flow flood protection: each CPU writes at most new_flow_rate_per_cpu flows per
// second into the connection table; above that, new flows are forwarded by their
// Maglev pick but not remembered, so a flood cannot evict established flows.
// Applied with every apply (reloadable). docs/dataplane.md explains the choice.
struct FloodProtection {
    std::uint32_t new_flow_rate_per_cpu =  // 0 = off
        schema::fallback(schema::Section::flood_protection, "new_flow_rate_per_cpu");
    SourceLocation location;

    bool operator==(const FloodProtection&) const = default;
};

// ICMP the forwarder sends itself (Packet Too Big, fragmentation needed).
struct IcmpAnswers {
    std::uint32_t rate_per_cpu =  // answers per second per CPU; 0 = no limit
        schema::fallback(schema::Section::icmp_answers, "rate_per_cpu");
    SourceLocation location;

    bool operator==(const IcmpAnswers&) const = default;
};

// Outer source addresses of encapsulated packets.
struct EncapSource {
    std::optional<IpAddress> ipv4;
    std::optional<IpAddress> ipv6;
    // Low bits of the outer source replaced by flow-hash bits (0-16), so that
    // receivers spread tunnelled flows over queues.
    std::uint8_t entropy_bits = schema::fallback(schema::Section::encap_source, "entropy_bits");

    bool operator==(const EncapSource&) const = default;
};

struct HttpCheck {
    std::string path = "/";
    std::string host;  // empty: the backend address
    std::vector<std::uint16_t> expect_status{schema::fallback(schema::Section::http, "expect_status")};
    std::string expect_body;  // empty: any body; else a substring of the body
    bool verify_tls = true;   // https only
    std::string sni;          // https only; empty: host, else none

    bool operator==(const HttpCheck&) const = default;
};

struct UdpCheck {
    std::string payload;  // sent as is
    std::string expect;   // empty: any answer counts; else a prefix of the answer

    bool operator==(const UdpCheck&) const = default;
};

struct DnsCheck {
    std::string name = ".";
    std::uint16_t type = schema::fallback(schema::Section::dns, "type");  // RR type number; spelled by name in YAML

    bool operator==(const DnsCheck&) const = default;
};

struct ExecCheck {
    // argv; "{address}" and "{port}" in any argument are replaced by the backend's
    // address and the check port. Bounded by HealthCheck::timeout.
    std::vector<std::string> command;

    bool operator==(const ExecCheck&) const = default;
};

struct HealthCheck {
    HealthKind kind = schema::enum_fallback<HealthKind>(schema::Section::health, "kind");
    Duration interval{schema::fallback(schema::Section::health, "interval")};
    Duration timeout{schema::fallback(schema::Section::health, "timeout")};  // < interval; also bounds exec
    std::uint32_t rise = schema::fallback(schema::Section::health, "rise");  // consecutive passes to go up
    std::uint32_t fall = schema::fallback(schema::Section::health, "fall");  // consecutive failures to go down
    std::uint16_t port = schema::fallback(schema::Section::health, "port");  // 0: the service port
    // Weight ramps from 0 to full over this time after going up.
    Duration slow_start{schema::fallback(schema::Section::health, "slow_start")};
    HttpCheck http;  // kind http / https
    UdpCheck udp;    // kind udp
    DnsCheck dns;    // kind dns
    ExecCheck exec;  // kind exec
    SourceLocation location;

    bool operator==(const HealthCheck&) const = default;
};

// A BGP community: "65000:100" (standard, two 16-bit halves) or
// "65000:1:2" (large, three 32-bit parts). `text` is the canonical spelling.
struct Community {
    std::vector<std::uint32_t> parts;  // 2 (standard) or 3 (large)
    std::string text;

    bool operator==(const Community&) const = default;
};

// How a service takes part in the VIP's BGP announcement (see docs/fleet.md).
struct ServiceBgp {
    std::vector<Community> communities;
    std::optional<std::uint32_t> med;
    // The VIP is announced only while the service has at least this many backends
    // getting new flows.
    std::uint32_t min_healthy_backends = schema::fallback(schema::Section::service_bgp, "min_healthy_backends");

    bool operator==(const ServiceBgp&) const = default;
};

struct Backend {
    IpAddress address;
    std::uint32_t weight = schema::fallback(schema::Section::backend, "weight");  // 0 = keeps flows, no new ones
    BackendState state = schema::enum_fallback<BackendState>(schema::Section::backend, "state");
    SourceLocation location;

    bool operator==(const Backend&) const = default;
};

// One service: a VIP, port and protocol, with every field resolved (service value,
// else defaults value, else built-in default).
struct Service {
    std::string name;
    IpAddress vip;
    std::uint16_t port = 0;  // 0 = every port; a service on a specific port wins
    Protocol protocol = schema::enum_fallback<Protocol>(schema::Section::service, "protocol");
    Forwarding forwarding = schema::enum_fallback<Forwarding>(schema::Section::service, "forwarding");
    std::uint32_t ring_size = schema::fallback(schema::Section::service, "ring_size");  // prime
    HashMode hash = schema::enum_fallback<HashMode>(schema::Section::service, "hash");
    std::uint16_t mtu = schema::fallback(schema::Section::service, "mtu");
    std::uint16_t gue_port = schema::fallback(schema::Section::service, "gue_port");
    std::uint8_t outer_ttl = schema::fallback(schema::Section::service, "outer_ttl");
    // UDP: connection table entries idle this long expire; 0 = never.
    Duration udp_idle_timeout{schema::fallback(schema::Section::service, "udp_idle_timeout")};
    EncapSource encap_source;
    WhenAllDown when_all_down = schema::enum_fallback<WhenAllDown>(schema::Section::service, "when_all_down");
    // Echo requests to the VIP address answered by the forwarder (the same on every
    // service of the address).
    bool answer_ping = false;
    HealthCheck health;
    ServiceBgp bgp;
    std::vector<Backend> backends;
    SourceLocation location;

    bool operator==(const Service&) const = default;
};

struct BgpNeighbour {
    IpAddress address;
    std::uint32_t as = 0;
    std::optional<Duration> hold_time;  // whole seconds, 3s-65535s; BIRD's default when unset
    SourceLocation location;

    bool operator==(const BgpNeighbour&) const = default;
};

// The `bgp:` section: julierd writes the VIP routes (and these neighbours) into a
// BIRD include file and asks BIRD to reconfigure; BIRD speaks BGP.
struct Bgp {
    std::string bird_include = "/run/bird/julier.conf";
    std::string bird_socket = "/run/bird/bird.ctl";
    std::optional<std::uint32_t> local_as;
    std::optional<IpAddress> router_id;  // IPv4
    std::vector<BgpNeighbour> neighbours;
    // A recovered VIP stays healthy this long before it is announced.
    Duration hold_down{schema::fallback(schema::Section::bgp, "hold_down")};
    // Teardown waits this long between withdrawing the VIPs and detaching.
    Duration teardown_grace{schema::fallback(schema::Section::bgp, "teardown_grace")};
    bool withdraw_on_stop = false;
    SourceLocation location;

    bool operator==(const Bgp&) const = default;
};

struct Catalogue {
    std::vector<Interface> interfaces;
    XdpMode xdp_mode = schema::enum_fallback<XdpMode>(schema::Section::top, "xdp_mode");  // of interfaces[]
    std::string pin_dir = JL_PIN_DIR;
    std::string control_socket = "/run/julier/julierd.sock";
    Metrics metrics;
    Limits limits;
    FloodProtection flood_protection;
    IcmpAnswers icmp_answers;
    std::optional<Bgp> bgp;  // unset: julierd announces nothing
    std::vector<Service> services;
    SourceLocation location;  // the file

    // Locations take part in ==: two catalogues that differ only in layout compare
    // unequal. Compare services field by field where layout must not matter.
    bool operator==(const Catalogue&) const = default;
};

// The services, backends and ring slots the catalogue takes of its limits.
LimitUse limit_use(const Catalogue& catalogue);

}  // namespace julier::config
