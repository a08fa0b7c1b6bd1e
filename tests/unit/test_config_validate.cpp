// Catalogue checks that span fields and services, and the resolution of defaults.
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/field_index.h"
#include "config/validate.h"
#include "config_test_support.h"

using namespace julier::config;
using julier::common::IpAddress;
using julier::config::testing::all_text;
using julier::config::testing::expect_located;
using julier::config::testing::lines;
using julier::config::testing::only;
using julier::config::testing::parse;

namespace {

IpAddress ip(const char* text) {
    auto a = IpAddress::parse(text);
    REQUIRE(a);
    return *a;
}

}  // namespace

TEST_CASE("duplicate service names", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - {name: web, vip: 198.19.0.1, port: 80, backends: [198.18.0.20]}",
        "  - {name: web, vip: 198.19.0.2, port: 80, backends: [198.18.0.20]}",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "services[1].name", Severity::error, 4, 12, "duplicate service name 'web' (first at t.yaml:3:5)");
}

TEST_CASE("duplicate VIP, port and protocol; port 0 may sit beside specific ports", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - {name: a, vip: 198.19.0.1, port: 80, backends: [198.18.0.20]}",
        "  - {name: b, vip: 198.19.0.1, port: 80, protocol: udp, backends: [198.18.0.20]}",
        "  - {name: c, vip: 198.19.0.1, port: 0, health: {kind: none}, backends: [198.18.0.20]}",
        "  - {name: d, vip: 198.19.0.1, port: 80, protocol: tcp, backends: [198.18.0.21]}",
        "  - {name: e, vip: \"2001:db8::1\", port: 80, backends: [\"2001:db8::20\"]}",
    }));
    CHECK_FALSE(r.ok());
    REQUIRE(r.errors() == 1);
    expect_located(r, "services[3].port", Severity::error, 6, 38,
                   "198.19.0.1:80/tcp is already served by service 'a' (at t.yaml:3:5)");
}

TEST_CASE("duplicate backend addresses within a service", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: web",
        "    vip: \"2001:db8::1\"",
        "    port: 80",
        "    backends:",
        "      - \"2001:db8::20\"",
        "      - {address: \"2001:db8:0::20\", weight: 5}",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "services[0].backends[1].address", Severity::error, 8, 19,
                   "2001:db8::20 is listed twice (first at t.yaml:7:9)");
}

TEST_CASE("a backend cannot be the VIP itself", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - {name: web, vip: 198.19.0.1, port: 80, backends: [198.19.0.1]}",
    }));
    expect_located(r, "services[0].backends[0].address", Severity::error, 3, 55,
                   "a backend cannot be the VIP itself (198.19.0.1)");
}

TEST_CASE("forwarding modes and address families", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "defaults:",
        "  encap_source: {ipv4: 198.18.0.2, ipv6: \"2001:db8::2\"}",
        "services:",
        "  - {name: l2mix, vip: 198.19.0.1, port: 1, backends: [\"2001:db8::20\"]}",
        "  - {name: ipip6, vip: \"2001:db8::1\", port: 2, forwarding: ipip, backends: [198.18.0.20]}",
        "  - {name: ip6ip6v4, vip: \"2001:db8::1\", port: 3, forwarding: ip6ip6, backends: [198.18.0.20]}",
        "  - {name: ip4in6ok, vip: 198.19.0.1, port: 4, forwarding: ip4in6, backends: [\"2001:db8::20\"]}",
        "  - {name: guemix, vip: 198.19.0.1, port: 5, forwarding: gue, backends: [198.18.0.20, \"2001:db8::20\"]}",
        "  - {name: l2v6, vip: \"2001:db8::1\", port: 6, backends: [\"2001:db8::20\"]}",
    }));
    CHECK_FALSE(r.ok());
    INFO(all_text(r));
    CHECK(r.errors() == 3);

    auto l2 = expect_located(r, "services[0].backends[0].address", Severity::error, 5, 56);
    CHECK(l2.message ==
          "IPv6 backend 2001:db8::20 cannot be reached: l2 forwarding rewrites only MAC addresses, so backends "
          "must have the VIP's family (IPv4); use gue");

    auto ipip = expect_located(r, "services[1].forwarding", Severity::error, 6, 60,
                               "ipip carries IPv4 VIPs only, but the VIP 2001:db8::1 is IPv6");

    auto ip6ip6 = expect_located(r, "services[2].backends[0].address", Severity::error, 7, 82);
    CHECK(ip6ip6.message ==
          "IPv4 backend 198.18.0.20 cannot be reached: ip6ip6 sends to IPv6 backends only; use ipip or gue");
}

TEST_CASE("encapsulation needs an outer source of the outer family", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "defaults:",
        "  encap_source: {ipv4: 198.18.0.2}",
        "services:",
        "  - {name: ipip, vip: 198.19.0.1, port: 1, forwarding: ipip, backends: [198.18.0.20]}",
        "  - {name: four6, vip: 198.19.0.1, port: 2, forwarding: ip4in6, backends: [\"2001:db8::20\"]}",
        "  - {name: gue, vip: 198.19.0.1, port: 3, forwarding: gue, backends: [198.18.0.20, \"2001:db8::20\"]}",
    }));
    CHECK_FALSE(r.ok());
    auto four6 = expect_located(r, "services[1].forwarding", Severity::error, 6, 57);
    CHECK(four6.message ==
          "ip4in6 sends IPv6 outer headers and needs encap_source.ipv6 (the outer source address; set it in the "
          "service or in defaults)");
    auto gue = expect_located(r, "services[2].forwarding", Severity::error, 7, 55);
    CHECK_THAT(gue.message, Catch::StartsWith("gue sends IPv6 outer headers and needs encap_source.ipv6"));
    // ipip has its IPv4 source from defaults: nothing to say.
    for (const Diagnostic& d : r.diagnostics) CHECK(d.field.rfind("services[0]", 0) != 0);
}

TEST_CASE("ring size: prime, at least one slot per backend, 100 per backend advised", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - {name: a, vip: 198.19.0.1, port: 1, ring_size: 65536, backends: [198.18.0.20]}",
        "  - {name: b, vip: 198.19.0.1, port: 2, ring_size: 2, backends: [198.18.0.20, 198.18.0.21, 198.18.0.22]}",
        "  - {name: c, vip: 198.19.0.1, port: 3, ring_size: 199, backends: [198.18.0.20, 198.18.0.21]}",
        "  - {name: d, vip: 198.19.0.1, port: 4, ring_size: 4294967295, backends: [198.18.0.20]}",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "services[0].ring_size", Severity::error, 3, 52, "65536 is not prime (the next prime is 65537)");
    expect_located(r, "services[1].ring_size", Severity::error, 4, 52,
                   "2 slots cannot hold 3 backends (the ring needs at least one slot per backend)");

    auto c = expect_located(r, "services[2].ring_size", Severity::warning, 5, 52);
    CHECK(c.message == "199 slots for 2 backends spread load unevenly; use at least 200 (100 per backend)");

    auto d = only(r, "services[3].ring_size");
    CHECK(d.message == "4294967295 is out of range (allowed: 2-1073741824)");
}

TEST_CASE("a bad default is reported once, at defaults, however many services inherit it", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "defaults:",
        "  ring_size: 1000",
        "  health: {timeout: 2s, interval: 2s}",
        "services:",
        "  - {name: a, vip: 198.19.0.1, port: 1, backends: [198.18.0.20]}",
        "  - {name: b, vip: 198.19.0.1, port: 2, backends: [198.18.0.20]}",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "defaults.ring_size", Severity::error, 3, 14, "1000 is not prime (the next prime is 1009)");
    expect_located(r, "defaults.health.timeout", Severity::error, 4, 21,
                   "2s is not shorter than the interval 2s (a check must end before the next one starts)");
    CHECK(r.errors() == 2);
}

TEST_CASE("a service-specific finding about an inherited value names the service", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "defaults: {mtu: 1200}",
        "services:",
        "  - {name: v4, vip: 198.19.0.1, port: 1, backends: [198.18.0.20]}",
        "  - {name: v6, vip: \"2001:db8::1\", port: 1, backends: [\"2001:db8::20\"]}",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "defaults.mtu", Severity::error, 2, 17,
                   "1200 is below the IPv6 minimum link MTU 1280 (this service sends IPv6) (service 'v6')");
}

TEST_CASE("an IPv6 VIP's mtu leaves 1280 bytes after encapsulation, or names the smallest that does", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "defaults: {encap_source: {ipv4: 198.18.0.2, ipv6: \"2001:db8::2\"}}",
        "services:",
        "  - {name: a, vip: \"2001:db8::1\", port: 1, forwarding: ip6ip6, mtu: 1280, backends: [\"2001:db8::20\"]}",
        "  - {name: b, vip: \"2001:db8::1\", port: 2, forwarding: gue, mtu: 1320, backends: [198.18.0.20, "
        "\"2001:db8::20\"]}",
        "  - {name: c, vip: \"2001:db8::1\", port: 3, forwarding: ip6ip6, mtu: 1320, backends: [\"2001:db8::20\"]}",
        "  - {name: d, vip: \"2001:db8::1\", port: 4, forwarding: gue, mtu: 1312, backends: [198.18.0.20]}",
        "  - {name: e, vip: 198.19.0.1, port: 5, forwarding: gue, mtu: 1300, backends: [\"2001:db8::20\"]}",
        "  - {name: f, vip: \"2001:db8::1\", port: 6, forwarding: l2, mtu: 1280, backends: [\"2001:db8::20\"]}",
    }));
    INFO(all_text(r));
    REQUIRE(r.errors() == 2);
    const auto& a = r.diagnostics[0];
    CHECK(a.field == "services[0].mtu");
    CHECK(a.location.line == 4);
    CHECK(a.message ==
          "1280 leaves 1240 bytes for an IPv6 client's packet after ip6ip6 encapsulation (40 bytes), and a "
          "Packet Too Big below 1280 is ignored by clients; the smallest mtu for this service is 1320");
    const auto& b = r.diagnostics[1];
    CHECK(b.field == "services[1].mtu");
    CHECK_THAT(b.message, Catch::Contains("gue encapsulation (52 bytes)") &&
                              Catch::EndsWith("the smallest mtu for this service is 1332"));
}

TEST_CASE("limits: services, backends and ring slots", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "limits: {max_services: 1, max_backends: 2, ring_capacity: 300}",
        "services:",
        "  - {name: a, vip: 198.19.0.1, port: 1, ring_size: 251, backends: [198.18.0.20, 198.18.0.21]}",
        "  - {name: b, vip: 198.19.0.1, port: 2, ring_size: 101, backends: [198.18.0.20]}",
    }));
    CHECK_FALSE(r.ok());
    const auto starts = [](const Diagnostic& d, const std::string& text) {
        CHECK_THAT(d.message, Catch::StartsWith(text));
    };
    starts(expect_located(r, "limits.max_services", Severity::error, 2, 24),
           "2 services are defined, more than max_services 1; set limits.max_services to at least 2 (");
    starts(expect_located(r, "limits.max_backends", Severity::error, 2, 41),
           "3 backends are defined, more than max_backends 2; set limits.max_backends to at least 3 (");
    starts(expect_located(r, "limits.ring_capacity", Severity::error, 2, 59),
           "the services' rings need 352 slots, more than ring_capacity 300; set limits.ring_capacity to at least "
           "352 (");
}

// A catalogue of n services of default settings, each on its own port of one VIP.
std::string plain_services(int n) {
    std::string out = "interfaces: [eth0]\nservices:\n";
    for (int i = 0; i < n; ++i)
        out += "  - {name: s" + std::to_string(i) + ", vip: 198.19.0.1, port: " + std::to_string(1000 + i) +
               ", backends: [198.18.0.20]}\n";
    return out;
}

TEST_CASE("limits: the default limits take as many default services as max_services allows", "[config]") {
    const Limits defaults;
    REQUIRE(defaults.max_services > 1);
    auto fits = parse(plain_services(static_cast<int>(defaults.max_services)));
    CHECK(fits.ok());
    // One more is refused, and each error names its fix.
    const std::uint32_t n = defaults.max_services + 1;
    auto over = parse(plain_services(static_cast<int>(n)));
    REQUIRE_FALSE(over.ok());
    CHECK_THAT(only(over, "limits.max_services").message,
               Catch::Contains("set limits.max_services to at least " + std::to_string(n)));
    CHECK_THAT(only(over, "limits.ring_capacity").message,
               Catch::Contains("set limits.ring_capacity to at least " + std::to_string(n * 65537ull)));
}

TEST_CASE("an empty backend list is a warning; the catalogue is still usable", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.1",
        "    port: 80",
        "    backends: []",
        "  - {name: idle, vip: 198.19.0.1, port: 81, backends: [{address: 198.18.0.20, state: drain}]}",
    }));
    INFO(all_text(r));
    REQUIRE(r.ok());
    expect_located(r, "services[0].backends", Severity::warning, 6, 15,
                   "no backends: every packet for this service is dropped");
    auto idle = only(r, "services[1].backends");
    CHECK(idle.severity == Severity::warning);
    CHECK(idle.message == "every backend is draining or has weight 0: new flows are dropped");
}

TEST_CASE("health timing and ports", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: any",
        "    vip: 198.19.0.1",
        "    port: 0",
        "    backends: [198.18.0.20]",
        "    health:",
        "      interval: 500ms",
        "      timeout: 500ms",
        "  - name: script",
        "    vip: 198.19.0.2",
        "    port: 0",
        "    backends: [198.18.0.20]",
        "    health: {kind: exec}",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "services[0].health.timeout", Severity::error, 9, 16,
                   "500ms is not shorter than the interval 500ms (a check must end before the next one starts)");
    auto port = expect_located(r, "services[0].health.port", Severity::error, 8, 7,
                               "the service takes every port (port 0), so a tcp check needs health.port");
    // exec needs no port, but a command.
    expect_located(r, "services[1].health.exec.command", Severity::error, 14, 13,
                   "missing: an exec check needs a command to run");
    CHECK(r.errors() == 3);
}

TEST_CASE("every error of a file is reported in one pass, in file order", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "xdp_mode: fast",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.300",
        "    port: -80",
        "    backends:",
        "      - {address: 198.18.0.20, weight: lots}",
        "  - name: web",
        "    vip: 198.19.0.2",
        "    port: 80",
        "    mtu: 10",
    }));
    CHECK_FALSE(r.ok());
    CHECK_FALSE(r.catalogue);
    INFO(all_text(r));
    REQUIRE(r.diagnostics.size() == 7);
    const std::vector<std::pair<int, std::string>> expected = {
        {2, "xdp_mode"},
        {5, "services[0].vip"},
        {6, "services[0].port"},
        {8, "services[0].backends[0].weight"},
        {9, "services[1].backends"},  // warning: no backends
        {9, "services[1].name"},
        {12, "services[1].mtu"},
    };
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK(r.diagnostics[i].location.line == expected[i].first);
        CHECK(r.diagnostics[i].field == expected[i].second);
    }
    CHECK(r.errors() == 6);
    CHECK(r.warnings() == 1);
}

TEST_CASE("defaults apply field by field, nested mappings merge key by key", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "defaults:",
        "  forwarding: ipip",
        "  ring_size: 1009",
        "  hash: source",
        "  mtu: 9000",
        "  gue_port: 7000",
        "  outer_ttl: 9",
        "  encap_source: {ipv4: 198.18.0.2, entropy_bits: 4}",
        "  when_all_down: keep",
        "  health:",
        "    kind: http",
        "    interval: 5s",
        "    rise: 4",
        "    http: {path: /ready, expect_status: [200, 204]}",
        "services:",
        "  - {name: inherits, vip: 198.19.0.1, port: 80, backends: [198.18.0.20]}",
        "  - name: overrides",
        "    vip: 198.19.0.1",
        "    port: 443",
        "    protocol: udp",
        "    forwarding: l2",
        "    ring_size: 65537",
        "    mtu: 1500",
        "    encap_source: {entropy_bits: 8}",
        "    health: {fall: 7, http: {host: www.example.net}}",
        "    backends: [{address: 198.18.0.21, weight: 0}, 198.18.0.22]",
    }));
    INFO(all_text(r));
    REQUIRE(r.ok());
    CHECK(r.diagnostics.empty());
    const auto& s = r.catalogue->services;
    REQUIRE(s.size() == 2);

    const Service& a = s[0];
    CHECK(a.protocol == Protocol::tcp);
    CHECK(a.forwarding == Forwarding::ipip);
    CHECK(a.ring_size == 1009u);
    CHECK(a.hash == HashMode::source);
    CHECK(a.mtu == 9000);
    CHECK(a.gue_port == 7000);
    CHECK(a.outer_ttl == 9);
    CHECK(a.encap_source.ipv4 == ip("198.18.0.2"));
    CHECK_FALSE(a.encap_source.ipv6);
    CHECK(a.encap_source.entropy_bits == 4);
    CHECK(a.when_all_down == WhenAllDown::keep);
    CHECK(a.health.kind == HealthKind::http);
    CHECK(a.health.interval == std::chrono::seconds(5));
    CHECK(a.health.timeout == std::chrono::seconds(1));  // built in
    CHECK(a.health.rise == 4);
    CHECK(a.health.fall == 3);  // built in
    CHECK(a.health.http.path == "/ready");
    CHECK(a.health.http.expect_status == std::vector<std::uint16_t>{200, 204});
    CHECK(a.backends[0].weight == 100);
    CHECK(a.backends[0].state == BackendState::active);
    CHECK(a.location == julier::common::SourceLocation{"t.yaml", 17, 5});

    const Service& b = s[1];
    CHECK(b.protocol == Protocol::udp);
    CHECK(b.forwarding == Forwarding::l2);
    CHECK(b.ring_size == 65537u);
    CHECK(b.hash == HashMode::source);
    CHECK(b.mtu == 1500);
    CHECK(b.encap_source.ipv4 == ip("198.18.0.2"));
    CHECK(b.encap_source.entropy_bits == 8);
    CHECK(b.health.kind == HealthKind::http);
    CHECK(b.health.interval == std::chrono::seconds(5));
    CHECK(b.health.rise == 4);
    CHECK(b.health.fall == 7);
    CHECK(b.health.http.path == "/ready");
    CHECK(b.health.http.host == "www.example.net");
    REQUIRE(b.backends.size() == 2);
    CHECK(b.backends[0].weight == 0);
    CHECK(b.backends[1].address == ip("198.18.0.22"));
    CHECK(b.backends[1].location == julier::common::SourceLocation{"t.yaml", 27, 51});
}

TEST_CASE("built-in defaults without a defaults section", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - {name: web, vip: 198.19.0.1, port: 80, backends: [198.18.0.20]}",
    }));
    REQUIRE(r.ok());
    const Catalogue& c = *r.catalogue;
    CHECK(c.xdp_mode == XdpMode::native);
    CHECK(c.pin_dir == "/sys/fs/bpf/julier");
    CHECK(c.control_socket == "/run/julier/julierd.sock");
    CHECK(c.metrics.listen() == "127.0.0.1:9641");
    CHECK(c.limits.max_services == 64u);
    CHECK(c.limits.max_backends == 16384u);
    CHECK(c.limits.ring_capacity == 64u * 65537u);
    CHECK(c.limits.max_flows == 1048576u);
    const Service& s = c.services[0];
    CHECK(s.protocol == Protocol::tcp);
    CHECK(s.forwarding == Forwarding::l2);
    CHECK(s.ring_size == 65537u);
    CHECK(s.hash == HashMode::five_tuple);
    CHECK(s.mtu == 1500);
    CHECK(s.gue_port == 6080);
    CHECK(s.outer_ttl == 64);
    CHECK(s.when_all_down == WhenAllDown::drop);
    CHECK(s.health.kind == HealthKind::tcp);
    CHECK(s.health.interval == std::chrono::seconds(2));
    CHECK(s.health.timeout == std::chrono::seconds(1));
    CHECK(s.health.rise == 2);
    CHECK(s.health.fall == 3);
    CHECK(s.health.port == 0);
    CHECK(s.health.slow_start == std::chrono::milliseconds(0));
    CHECK(s.health.dns.name == ".");
    CHECK(s.health.dns.type == 1);
    CHECK(s.health.http.verify_tls);
}

TEST_CASE("validate works on a catalogue built in code, without an index", "[config]") {
    Catalogue c;
    c.location = {"built", 0, 0};
    Service s;
    s.name = std::string("x");  // move-assigned: GCC 12 warns falsely (-Wrestrict) on assigning a literal
    s.vip = ip("198.19.0.1");
    s.port = 80;
    s.ring_size = 10;
    s.location = {"built", 3, 1};
    s.backends.push_back(Backend{ip("198.18.0.20"), 100, BackendState::active, {"built", 4, 1}});
    c.services = {s, s};
    auto findings = validate(c, FieldIndex{});
    std::vector<std::string> text;
    for (const auto& d : findings) text.push_back(d.to_string());
    INFO(::Catch::Detail::stringify(text));
    CHECK(std::find(text.begin(), text.end(),
                    "built:3:1: error: services[1].name: duplicate service name 'x' "
                    "(first at built:3:1)") != text.end());
    CHECK(std::find(text.begin(), text.end(),
                    "built:3:1: error: services[0].ring_size: 10 is not prime (the next prime is 11)") != text.end());
}

TEST_CASE("hash: every choice parses; destination_port on one port is a warning", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - {name: a, vip: 198.19.0.1, port: 80, hash: 5tuple, backends: [198.18.0.20]}",
        "  - {name: b, vip: 198.19.0.1, port: 81, hash: source, backends: [198.18.0.20]}",
        "  - {name: c, vip: 198.19.0.1, port: 82, hash: no_source_port, backends: [198.18.0.20]}",
        "  - {name: d, vip: 198.19.0.2, port: 0, hash: destination_port, health: {kind: none}, backends: "
        "[198.18.0.20]}",
        "  - {name: e, vip: 198.19.0.1, port: 83, hash: destination_port, backends: [198.18.0.20]}",
    }));
    REQUIRE(r.ok());
    const auto& s = r.catalogue->services;
    CHECK(s[0].hash == HashMode::five_tuple);
    CHECK(s[1].hash == HashMode::source);
    CHECK(s[2].hash == HashMode::no_source_port);
    CHECK(s[3].hash == HashMode::destination_port);
    CHECK(s[4].hash == HashMode::destination_port);
    // Only the one-port service gets the warning.
    expect_located(r, "services[4].hash", Severity::warning, 7, 48,
                   "destination_port on a service of one port sends every flow to one backend; it is meant for "
                   "services on every port (port: 0)");
}

TEST_CASE("answer_ping: from defaults or the service; every service of a VIP address agrees", "[config]") {
    SECTION("defaults, overridden on another address") {
        auto r = parse(lines({
            "interfaces: [eth0]",
            "defaults: {answer_ping: true}",
            "services:",
            "  - {name: a, vip: 198.19.0.1, port: 80, backends: [198.18.0.20]}",
            "  - {name: b, vip: 198.19.0.1, port: 53, protocol: udp, backends: [198.18.0.20]}",
            "  - {name: c, vip: 198.19.0.2, port: 80, answer_ping: false, backends: [198.18.0.20]}",
        }));
        REQUIRE(r.ok());
        const auto& s = r.catalogue->services;
        CHECK(s[0].answer_ping);
        CHECK(s[1].answer_ping);
        CHECK_FALSE(s[2].answer_ping);
    }
    SECTION("off by default") {
        auto r = parse(lines({
            "interfaces: [eth0]",
            "services:",
            "  - {name: a, vip: 198.19.0.1, port: 80, backends: [198.18.0.20]}",
        }));
        REQUIRE(r.ok());
        CHECK_FALSE(r.catalogue->services[0].answer_ping);
    }
    SECTION("two services of one address disagree") {
        auto r = parse(lines({
            "interfaces: [eth0]",
            "services:",
            "  - {name: a, vip: 198.19.0.1, port: 80, answer_ping: true, backends: [198.18.0.20]}",
            "  - {name: b, vip: 198.19.0.1, port: 443, answer_ping: false, backends: [198.18.0.20]}",
        }));
        CHECK_FALSE(r.ok());
        REQUIRE(r.errors() == 1);
        expect_located(r, "services[1].answer_ping", Severity::error, 4, 56,
                       "false, but service 'a' (at t.yaml:3:5) on the same VIP 198.19.0.1 says true: pings are "
                       "answered per address, so every service of an address must agree");
    }
    SECTION("one inherits from defaults: the finding is at defaults and names the service") {
        auto r = parse(lines({
            "interfaces: [eth0]",
            "defaults: {answer_ping: true}",
            "services:",
            "  - {name: a, vip: \"2001:db8::1\", port: 80, answer_ping: false, backends: [\"2001:db8::20\"]}",
            "  - {name: b, vip: \"2001:db8::1\", port: 443, backends: [\"2001:db8::20\"]}",
        }));
        CHECK_FALSE(r.ok());
        REQUIRE(r.errors() == 1);
        expect_located(r, "defaults.answer_ping", Severity::error, 2, 25,
                       "true, but service 'a' (at t.yaml:4:5) on the same VIP 2001:db8::1 says false: pings are "
                       "answered per address, so every service of an address must agree (service 'b')");
    }
    SECTION("not a boolean") {
        auto r = parse(lines({
            "interfaces: [eth0]",
            "services:",
            "  - {name: a, vip: 198.19.0.1, port: 80, answer_ping: 1, backends: [198.18.0.20]}",
        }));
        CHECK_FALSE(r.ok());
        CHECK_THAT(all_text(r), Catch::Contains("services[0].answer_ping"));
    }
}
