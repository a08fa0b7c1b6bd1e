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
using julier::config::testing::lines;
using julier::config::testing::only;
using julier::config::testing::parse;

namespace {

void require_at(const Diagnostic& d, Severity severity, int line, int column) {
    INFO(d.to_string());
    CHECK(d.severity == severity);
    CHECK(d.location.file == "t.yaml");
    CHECK(d.location.line == line);
    CHECK(d.location.column == column);
}

}  // namespace

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
    auto typo = only(r, "services[0].protcol");
    require_at(typo, Severity::error, 6, 5);
    CHECK(typo.message == "unknown key 'protcol' (did you mean 'protocol'?)");

    auto far = only(r, "services[0].frobnicate");
    require_at(far, Severity::error, 7, 5);
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
    CHECK(r.diagnostics[0].to_string() == "t.yaml:3:1: error: servises: unknown key 'servises' (did you mean 'services'?)");
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
    auto d = only(r, "services[0].port");
    require_at(d, Severity::error, 6, 5);
    CHECK(d.message == "duplicate key (first at t.yaml:5:5)");
}

TEST_CASE("YAML merge keys get a specific message", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "x-base: &base {vip: 198.19.0.1, port: 80}",
        "services:",
        "  - name: web",
        "    <<: *base",
    }));
    auto d = only(r, "services[0].<<");
    require_at(d, Severity::error, 5, 5);
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
    auto ifaces = only(r, "interfaces");
    require_at(ifaces, Severity::error, 1, 13);
    CHECK(ifaces.message == "expected a list, got 'eth0'");

    auto vip = only(r, "services[0].vip");
    require_at(vip, Severity::error, 4, 10);
    CHECK(vip.message == "expected an IP address, got a list");

    auto port = only(r, "services[0].port");
    require_at(port, Severity::error, 5, 11);
    CHECK(port.message == "expected an integer (allowed: 0-65535), got 'eighty'");

    auto health = only(r, "services[0].health");
    require_at(health, Severity::error, 6, 13);
    CHECK(health.message == "expected a mapping (key: value), got 'fast'");

    auto backends = only(r, "services[0].backends");
    require_at(backends, Severity::error, 7, 15);
    CHECK(backends.message == "expected a list, got a mapping");
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
    auto d = only(r, "services[0].port");
    require_at(d, Severity::error, 5, 5);
    CHECK(d.message == "expected an integer (allowed: 0-65535), got nothing");
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
    auto vip = only(r, "services[0].vip");
    require_at(vip, Severity::error, 4, 10);
    CHECK(vip.message == "'198.19.0.1/32' is not an IP address (a single address, without a prefix length)");

    auto b0 = only(r, "services[0].backends[0].address");
    require_at(b0, Severity::error, 7, 9);
    CHECK(b0.message == "'198.18.0.256' is not an IP address");

    auto b1 = only(r, "services[0].backends[1].address");
    require_at(b1, Severity::error, 8, 19);
    CHECK(b1.message == "'224.0.0.1' is not a unicast address");

    auto b2 = only(r, "services[0].backends[2].address");
    require_at(b2, Severity::error, 9, 19);
    CHECK(b2.message == "'fe80::1%eth0' is not an IP address");

    auto src = only(r, "services[1].encap_source.ipv4");
    require_at(src, Severity::error, 14, 26);
    CHECK(src.message == "expected an IPv4 address, got '2001:db8::2'");
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
    auto interval = only(r, "defaults.health.interval");
    require_at(interval, Severity::error, 4, 15);
    CHECK(interval.message ==
          "'2' is not a duration (an integer with a unit ms, s, m or h, e.g. 500ms, 2s, 1m30s)");

    auto timeout = only(r, "defaults.health.timeout");
    require_at(timeout, Severity::error, 5, 14);
    CHECK_THAT(timeout.message, Catch::StartsWith("'1.5s' is not a duration"));

    auto slow = only(r, "defaults.health.slow_start");
    require_at(slow, Severity::error, 6, 17);
    CHECK(slow.message == "2h is out of range (allowed: 0s to 1h)");
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
    auto proto = only(r, "services[0].protocol");
    require_at(proto, Severity::error, 6, 15);
    CHECK(proto.message == "'icmp' is not one of: tcp, udp");

    auto fwd = only(r, "services[0].forwarding");
    require_at(fwd, Severity::error, 7, 17);
    CHECK(fwd.message == "'l3' is not one of: l2, ipip, ip6ip6, ip4in6, gue (did you mean 'l2'?)");

    auto hash = only(r, "services[0].hash");
    require_at(hash, Severity::error, 8, 11);
    CHECK(hash.message == "'5-tuple' is not one of: 5tuple, source (did you mean '5tuple'?)");

    auto state = only(r, "services[0].backends[0].state");
    require_at(state, Severity::error, 10, 39);
    CHECK(state.message == "'drained' is not one of: active, drain (did you mean 'drain'?)");
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
    auto mtu = only(r, "defaults.mtu");
    require_at(mtu, Severity::error, 3, 8);
    CHECK(mtu.message == "575 is out of range (allowed: 576-9216)");

    auto entropy = only(r, "defaults.encap_source.entropy_bits");
    require_at(entropy, Severity::error, 4, 32);
    CHECK(entropy.message == "17 is out of range (allowed: 0-16)");

    auto rise = only(r, "defaults.health.rise");
    require_at(rise, Severity::error, 5, 18);
    CHECK(rise.message == "0 is out of range (allowed: 1-1000)");

    auto fall = only(r, "defaults.health.fall");
    require_at(fall, Severity::error, 5, 27);
    CHECK(fall.message == "1001 is out of range (allowed: 1-1000)");

    auto w0 = only(r, "services[0].backends[0].weight");
    require_at(w0, Severity::error, 11, 40);
    CHECK(w0.message == "1000001 is out of range (allowed: 0-1000000)");

    auto w1 = only(r, "services[0].backends[1].weight");
    require_at(w1, Severity::error, 12, 40);
    CHECK(w1.message == "-1 is out of range (allowed: 0-1000000)");
}

TEST_CASE("service-only keys are refused in defaults", "[config]") {
    auto r = parse(lines({
        "interfaces: [eth0]",
        "defaults:",
        "  port: 80",
        "  wieght: 3",
    }));
    auto port = only(r, "defaults.port");
    require_at(port, Severity::error, 3, 3);
    CHECK(port.message == "can only be set per service, not in defaults");
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
        auto d = only(r, field);
        require_at(d, Severity::error, 3, 5);
        CHECK(d.message == "missing (every service needs name, vip and port)");
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
    auto i1 = only(r, "interfaces[1]");
    require_at(i1, Severity::error, 1, 20);
    CHECK(i1.message == "'veth/1' is not a valid interface name (1-15 characters, no '/', ':' or blanks)");
    auto i2 = only(r, "interfaces[2]");
    require_at(i2, Severity::error, 1, 30);
    auto name = only(r, "services[0].name");
    require_at(name, Severity::error, 3, 11);
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
    auto d = only(missing, "interfaces");
    require_at(d, Severity::error, 1, 1);
    CHECK_THAT(d.message, Catch::StartsWith("missing"));

    auto empty = parse(lines({"interfaces: []", "services: []"}));
    auto e = only(empty, "interfaces");
    require_at(e, Severity::error, 1, 13);
    CHECK(e.message == "at least one interface is needed");
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
    auto d = only(bad, "metrics.listen");
    require_at(d, Severity::error, 2, 19);
    CHECK_THAT(d.message, Catch::StartsWith("'2001:db8::2:9100' is not address:port"));
}

TEST_CASE("paths must be absolute; the socket path must fit sun_path", "[config]") {
    const std::string long_path = "/run/" + std::string(103, 's');  // 108 characters
    auto r = parse(lines({"interfaces: [eth0]", "pin_dir: sys/fs/bpf/x"}) + "control_socket: " + long_path + "\n");
    auto pin = only(r, "pin_dir");
    require_at(pin, Severity::error, 2, 10);
    CHECK(pin.message == "'sys/fs/bpf/x' must be an absolute path without '..' or blanks");
    auto sock = only(r, "control_socket");
    require_at(sock, Severity::error, 3, 17);
    CHECK(sock.message == "path is 108 characters long (a Unix socket path allows at most 107)");
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
    auto path = only(r, "services[0].health.http.path");
    require_at(path, Severity::error, 9, 20);
    CHECK(path.message == "'healthz' must start with '/' and contain no blanks");

    auto status = only(r, "services[0].health.http.expect_status[1]");
    require_at(status, Severity::error, 9, 50);
    CHECK(status.message == "99 is out of range (allowed: 100-599)");

    auto type = only(r, "services[0].health.dns.type");
    require_at(type, Severity::error, 10, 19);
    CHECK(type.message == "'AAA' is not one of: A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV");

    auto cmd = only(r, "services[0].health.exec.command[0]");
    require_at(cmd, Severity::error, 11, 24);
    CHECK(cmd.message == "'check' must be an absolute path (no PATH lookup is done)");
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
