// Catalogue parsing: one test per class of mistake, each asserting the message and
// the position (line:column counted from the YAML built line by line below).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>

#include "config_test_support.h"

using namespace julier::config;
using julier::config::testing::all_text;
using julier::config::testing::expect_located;
using julier::config::testing::lines;
using julier::config::testing::only;
using julier::config::testing::parse;
using julier::config::testing::require_at;

TEST_CASE("a valid minimal catalogue parses without findings", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.1",
        "    port: 80",
        "    backends: [198.18.0.20]",
    }));
    INFO(all_text(r));
    REQUIRE(r.ok());
    CHECK(r.diagnostics.empty());
    REQUIRE(r.catalogue->services.size() == 1);
    CHECK(r.catalogue->services[0].backends[0].address.to_string() == "198.18.0.20");
}

TEST_CASE("a port out of range names file, line, column, field, value and range", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.1",
        "    port: 70000",
        "    backends: [198.18.0.20]",
    }));
    CHECK_FALSE(r.ok());
    REQUIRE(r.diagnostics.size() == 1);
    CHECK(r.diagnostics[0].to_string() ==
          "t.yaml:5:11: error: services[0].port: 70000 is out of range (allowed: 0-65535)");
}

TEST_CASE("YAML syntax errors carry yaml-cpp's position", "[config]") {
    // The second ':' on line 3 (column 13) is an illegal map value.
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - port: 80: 81",
    }));
    CHECK_FALSE(r.ok());
    REQUIRE(r.diagnostics.size() == 1);
    require_at(r.diagnostics[0], Severity::error, 3, 13);
    CHECK_THAT(r.diagnostics[0].message, Catch::StartsWith("YAML syntax: "));
}

TEST_CASE("unknown keys are reported with a suggestion when one is close", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.1",
        "    port: 80",
        "    protcol: udp",
        "    frobnicate: 1",
        "    backends: [198.18.0.20]",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "services[0].protcol", Severity::error, 6, 5, "unknown key 'protcol' (did you mean 'protocol'?)");
    auto far = expect_located(r, "services[0].frobnicate", Severity::error, 7, 5);
    CHECK_THAT(far.message, Catch::StartsWith("unknown key 'frobnicate' (allowed: name, vip, port,"));
}

TEST_CASE("unknown top-level keys, except x- extension keys that hold anchors", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "x-pool: &pool [198.18.0.20, 198.18.0.21]",
        "servises: []",
        "services:",
        "  - {name: web, vip: 198.19.0.1, port: 80, backends: *pool}",
    }));
    CHECK_FALSE(r.ok());
    REQUIRE(r.diagnostics.size() == 1);
    require_at(r.diagnostics[0], Severity::error, 3, 1);
    CHECK(r.diagnostics[0].to_string() ==
          "t.yaml:3:1: error: servises: unknown key 'servises' (did you mean 'services'?)");
}

TEST_CASE("duplicate keys point at the second and name the first", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.1",
        "    port: 80",
        "    port: 81",
        "    backends: [198.18.0.20]",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "services[0].port", Severity::error, 6, 5, "duplicate key (first at t.yaml:5:5)");
}

TEST_CASE("YAML merge keys get a specific message", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "x-base: &base {vip: 198.19.0.1, port: 80}",
        "services:",
        "  - name: web",
        "    <<: *base",
    }));
    auto d = expect_located(r, "services[0].<<", Severity::error, 5, 5);
    CHECK_THAT(d.message, Catch::StartsWith("YAML merge keys are not supported"));
}

TEST_CASE("wrong types say what was expected and what was found", "[config]") {
    auto r = parse(lines({
        "interfaces: eth0",
        "services:",
        "  - name: web",
        "    vip: [198.19.0.1]",
        "    port: eighty",
        "    health: fast",
        "    backends: {address: 198.18.0.20}",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "interfaces", Severity::error, 1, 13, "expected a list, got 'eth0'");
    expect_located(r, "services[0].vip", Severity::error, 4, 10, "expected an IP address, got a list");
    expect_located(r, "services[0].port", Severity::error, 5, 11,
                   "expected an integer (allowed: 0-65535), got 'eighty'");

    expect_located(r, "services[0].health", Severity::error, 6, 13, "expected a mapping (key: value), got 'fast'");
    expect_located(r, "services[0].backends", Severity::error, 7, 15, "expected a list, got a mapping");
}

TEST_CASE("an empty value points at its key", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.1",
        "    port:",
        "    backends: [198.18.0.20]",
    }));
    expect_located(r, "services[0].port", Severity::error, 5, 5, "expected an integer (allowed: 0-65535), got nothing");
}

TEST_CASE("bad addresses", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.1/32",
        "    port: 80",
        "    backends:",
        "      - 198.18.0.256",
        "      - {address: 224.0.0.1}",
        "      - {address: \"fe80::1%eth0\"}",
        "  - name: tun",
        "    vip: 198.19.0.2",
        "    port: 80",
        "    forwarding: ipip",
        "    encap_source: {ipv4: \"2001:db8::2\"}",
        "    backends: [198.18.0.20]",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "services[0].vip", Severity::error, 4, 10,
                   "'198.19.0.1/32' is not an IP address (a single address, without a prefix length)");

    expect_located(r, "services[0].backends[0].address", Severity::error, 7, 9, "'198.18.0.256' is not an IP address");
    expect_located(r, "services[0].backends[1].address", Severity::error, 8, 19,
                   "'224.0.0.1' is not a unicast address");

    expect_located(r, "services[0].backends[2].address", Severity::error, 9, 19, "'fe80::1%eth0' is not an IP address");
    expect_located(r, "services[1].encap_source.ipv4", Severity::error, 14, 26,
                   "expected an IPv4 address, got '2001:db8::2'");
}

TEST_CASE("durations need a unit and stay in range", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "defaults:",
        "  health:",
        "    interval: 2",
        "    timeout: 1.5s",
        "    slow_start: 2h",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "defaults.health.interval", Severity::error, 4, 15,
                   "'2' is not a duration (an integer with a unit ms, s, m or h, e.g. 500ms, 2s, 1m30s)");

    auto timeout = expect_located(r, "defaults.health.timeout", Severity::error, 5, 14);
    CHECK_THAT(timeout.message, Catch::StartsWith("'1.5s' is not a duration"));

    expect_located(r, "defaults.health.slow_start", Severity::error, 6, 17, "2h is out of range (allowed: 0s to 1h)");
}

TEST_CASE("enums list what is allowed and suggest the closest", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.1",
        "    port: 80",
        "    protocol: icmp",
        "    forwarding: l3",
        "    hash: 5-tuple",
        "    backends:",
        "      - {address: 198.18.0.20, state: drained}",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "services[0].protocol", Severity::error, 6, 15, "'icmp' is not one of: tcp, udp");
    expect_located(r, "services[0].forwarding", Severity::error, 7, 17,
                   "'l3' is not one of: l2, ipip, ip6ip6, ip4in6, gue (did you mean 'l2'?)");

    expect_located(
        r, "services[0].hash", Severity::error, 8, 11,
        "'5-tuple' is not one of: 5tuple, source, no_source_port, destination_port (did you mean '5tuple'?)");

    expect_located(r, "services[0].backends[0].state", Severity::error, 10, 39,
                   "'drained' is not one of: active, drain (did you mean 'drain'?)");
}

TEST_CASE("numeric ranges: weight, mtu, entropy bits, rise and fall", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "defaults:",
        "  mtu: 575",
        "  encap_source: {entropy_bits: 17}",
        "  health: {rise: 0, fall: 1001}",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.1",
        "    port: 80",
        "    backends:",
        "      - {address: 198.18.0.20, weight: 1000001}",
        "      - {address: 198.18.0.21, weight: -1}",
    }));
    CHECK_FALSE(r.ok());
    expect_located(r, "defaults.mtu", Severity::error, 3, 8, "575 is out of range (allowed: 576-9216)");
    expect_located(r, "defaults.encap_source.entropy_bits", Severity::error, 4, 32,
                   "17 is out of range (allowed: 0-16)");

    expect_located(r, "defaults.health.rise", Severity::error, 5, 18, "0 is out of range (allowed: 1-1000)");
    expect_located(r, "defaults.health.fall", Severity::error, 5, 27, "1001 is out of range (allowed: 1-1000)");
    expect_located(r, "services[0].backends[0].weight", Severity::error, 11, 40,
                   "1000001 is out of range (allowed: 0-1000000)");

    expect_located(r, "services[0].backends[1].weight", Severity::error, 12, 40,
                   "-1 is out of range (allowed: 0-1000000)");
}

TEST_CASE("service-only keys are refused in defaults", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "defaults:",
        "  port: 80",
        "  wieght: 3",
    }));
    expect_located(r, "defaults.port", Severity::error, 3, 3, "can only be set per service, not in defaults");
    auto typo = only(r, "defaults.wieght");
    CHECK_THAT(typo.message, Catch::StartsWith("unknown key 'wieght' (allowed: forwarding,"));
}

TEST_CASE("a service needs name, vip and port", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - protocol: udp",
        "    backends: [198.18.0.20]",
    }));
    for (const char* field : {"services[0].name", "services[0].vip", "services[0].port"}) {
        expect_located(r, field, Severity::error, 3, 5, "missing (every service needs name, vip and port)");
    }
}

TEST_CASE("names of services and interfaces are checked", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0, \"veth/1\", a-very-long-interface-name]",
        "services:",
        "  - name: \"web site\"",
        "    vip: 198.19.0.1",
        "    port: 80",
        "    backends: [198.18.0.20]",
    }));
    expect_located(r, "interfaces[1]", Severity::error, 1, 20,
                   "'veth/1' is not a valid interface name (1-15 characters, no '/', ':' or blanks)");
    expect_located(r, "interfaces[2]", Severity::error, 1, 30);
    auto name = expect_located(r, "services[0].name", Severity::error, 3, 11);
    CHECK_THAT(name.message, Catch::StartsWith("'web site' is not a valid name"));
}

TEST_CASE("interfaces: names or mappings, mode inherited from xdp_mode", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0, {name: eth1, xdp_mode: native}, {name: eth2}]",
        "xdp_mode: generic",
    }));
    INFO(all_text(r));
    REQUIRE(r.ok());
    const auto& ifs = r.catalogue->interfaces;
    REQUIRE(ifs.size() == 3);
    CHECK(ifs[0].name == "eth0");
    CHECK(ifs[0].xdp_mode == XdpMode::generic);
    CHECK(ifs[1].xdp_mode == XdpMode::native);
    CHECK(ifs[2].xdp_mode == XdpMode::generic);
    CHECK(ifs[1].location == julier::common::SourceLocation{"t.yaml", 1, 20});
    // No services is legal (everything passes) but worth a warning.
    REQUIRE(r.diagnostics.size() == 1);
    CHECK(r.diagnostics[0].severity == Severity::warning);
    CHECK(r.diagnostics[0].field == "services");
}

TEST_CASE("interfaces must be present and non-empty", "[config]") {
    auto missing = parse(lines({"services: []"}));
    auto d = expect_located(missing, "interfaces", Severity::error, 1, 1);
    CHECK_THAT(d.message, Catch::StartsWith("missing"));

    auto empty = parse(lines({"interfaces: []", "services: []"}));
    expect_located(empty, "interfaces", Severity::error, 1, 13, "at least one interface is needed");
}

TEST_CASE("metrics listen address forms", "[config]") {
    auto v4 = parse(lines({"interfaces: [eth0]", "services: []", "metrics: {listen: \"198.18.0.2:9100\"}"}));
    REQUIRE(v4.ok());
    CHECK(v4.catalogue->metrics.enabled);
    CHECK(v4.catalogue->metrics.listen() == "198.18.0.2:9100");

    auto v6 = parse(lines({"interfaces: [eth0]", "services: []", "metrics: {listen: \"[2001:db8::2]:9100\"}"}));
    REQUIRE(v6.ok());
    CHECK(v6.catalogue->metrics.listen() == "[2001:db8::2]:9100");

    for (const char* off : {"\"\"", "\"off\""}) {
        auto r = parse(lines({"interfaces: [eth0]", "services: []"}) + "metrics: {listen: " + off + "}\n");
        REQUIRE(r.ok());
        CHECK_FALSE(r.catalogue->metrics.enabled);
        CHECK(r.catalogue->metrics.listen().empty());
    }

    auto bad = parse(lines({"interfaces: [eth0]", "metrics: {listen: \"2001:db8::2:9100\"}"}));
    auto d = expect_located(bad, "metrics.listen", Severity::error, 2, 19);
    CHECK_THAT(d.message, Catch::StartsWith("'2001:db8::2:9100' is not address:port"));
}

TEST_CASE("paths must be absolute; the socket path must fit sun_path", "[config]") {
    const std::string long_path = "/run/" + std::string(103, 's');  // 108 characters
    auto r = parse(lines({"interfaces: [eth0]", "pin_dir: sys/fs/bpf/x"}) + "control_socket: " + long_path + "\n");
    expect_located(r, "pin_dir", Severity::error, 2, 10,
                   "'sys/fs/bpf/x' must be an absolute path without '..' or blanks");
    expect_located(r, "control_socket", Severity::error, 3, 17,
                   "path is 108 characters long (a Unix socket path allows at most 107)");
}

TEST_CASE("health sub-checks: http, dns, exec", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "services:",
        "  - name: web",
        "    vip: 198.19.0.1",
        "    port: 80",
        "    backends: [198.18.0.20]",
        "    health:",
        "      kind: exec",
        "      http: {path: healthz, expect_status: [200, 99]}",
        "      dns: {type: AAA}",
        "      exec: {command: [check, \"{address}\"]}",
    }));
    CHECK_FALSE(r.ok());
    auto path = expect_located(r, "services[0].health.http.path", Severity::error, 9, 20,
                               "'healthz' must start with '/' and contain no blanks");

    expect_located(r, "services[0].health.http.expect_status[1]", Severity::error, 9, 50,
                   "99 is out of range (allowed: 100-599)");

    expect_located(r, "services[0].health.dns.type", Severity::error, 10, 19,
                   "'AAA' is not one of: A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV");

    expect_located(r, "services[0].health.exec.command[0]", Severity::error, 11, 24,
                   "'check' must be an absolute path (no PATH lookup is done)");
}

TEST_CASE("files: missing, a directory, empty, not a mapping, several documents", "[config]") {
    auto missing = parse_catalogue_file("/nonexistent/julier.yaml");
    REQUIRE(missing.diagnostics.size() == 1);
    CHECK(missing.diagnostics[0].to_string() ==
          "/nonexistent/julier.yaml: error: cannot read: No such file or directory");

    auto dir = parse_catalogue_file("/");
    REQUIRE(dir.diagnostics.size() == 1);
    CHECK(dir.diagnostics[0].message == "cannot read: is a directory");

    auto empty = parse("# only a comment\n");
    REQUIRE(empty.diagnostics.size() == 1);
    CHECK(empty.diagnostics[0].to_string() ==
          "t.yaml: error: the file is empty (expected a mapping with interfaces and services)");

    auto list = parse(lines({"- eth0"}));
    REQUIRE(list.diagnostics.size() == 1);
    require_at(list.diagnostics[0], Severity::error, 1, 1);
    CHECK_THAT(list.diagnostics[0].message, Catch::StartsWith("the top level must be a mapping"));

    auto two = parse(lines({"interfaces: [eth0]", "services: []", "---", "interfaces: [eth1]"}));
    CHECK_FALSE(two.ok());
    CHECK_THAT(all_text(two), Catch::Contains("t.yaml:3:1: error: only one YAML document per file"));

    auto null_doc = parse("~\n");
    REQUIRE(null_doc.diagnostics.size() == 1);
    CHECK_THAT(null_doc.diagnostics[0].message, Catch::StartsWith("the top level must be a mapping"));
}

TEST_CASE("a stray flow separator is a syntax error, not a hang", "[config]") {
    // yaml-cpp 0.7's LoadAll loops forever on this input.
    auto r = parse(lines({", x", "interfaces: [eth0]"}));
    REQUIRE(r.diagnostics.size() == 1);
    CHECK(r.diagnostics[0].to_string() == "t.yaml:1:1: error: YAML syntax: unexpected ','");

    auto later = parse(lines({"interfaces: [eth0]", "...", "  , x"}));
    REQUIRE(later.diagnostics.size() == 1);
    CHECK(later.diagnostics[0].to_string() == "t.yaml:3:3: error: YAML syntax: unexpected ','");
}

TEST_CASE("an unreadable file is reported, not thrown", "[config]") {
    // A FIFO is not a regular file; reading it would block.
    const std::string path =
        (std::filesystem::temp_directory_path() / ("julier-config-fifo-" + std::to_string(::getpid()))).string();
    std::remove(path.c_str());
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    auto r = parse_catalogue_file(path);
    std::remove(path.c_str());
    REQUIRE(r.diagnostics.size() == 1);
    CHECK(r.diagnostics[0].message == "cannot read: not a regular file");
}
