// What a reload may change and what waits for a restart.
#include <catch2/catch.hpp>

#include "config/parse.h"
#include "daemon/reload.h"

using julier::config::Catalogue;
using julier::config::Diagnostic;
using julier::config::Interface;
using julier::config::ParseResult;
using julier::config::Severity;
using julier::config::XdpMode;
using julier::daemon::decide_reload;
using julier::daemon::interface_changes;

namespace {

Catalogue running() {
    Catalogue c;
    c.location = {"/etc/julier/julier.yaml", 0, 0};
    c.interfaces = {Interface{"eth0", XdpMode::native, {}}};
    c.pin_dir = "/sys/fs/bpf/julier";
    c.control_socket = "/run/julier/julierd.sock";
    julier::config::Service web;
    web.name = "web";
    web.vip = *julier::common::IpAddress::parse("198.19.0.1");
    web.port = 80;
    c.services = {web};
    return c;
}

Diagnostic diagnostic(Severity severity, int line, std::string field, std::string message) {
    return Diagnostic{severity, {"/etc/julier/julier.yaml", line, 3}, std::move(field), std::move(message)};
}

}  // namespace

TEST_CASE("reload rules: any error keeps the running catalogue and reports every diagnostic", "[daemon][reload]") {
    ParseResult next;
    next.diagnostics = {
        diagnostic(Severity::error, 4, "services[0].port", "70000 is out of range (allowed: 0-65535)"),
        diagnostic(Severity::warning, 9, "services[0].ring_size", "small"),
        diagnostic(Severity::error, 12, "services[1].vip", "'x' is not an IP address"),
    };
    const auto d = decide_reload(running(), next);
    CHECK_FALSE(d.catalogue);
    CHECK(d.errors ==
          std::vector<std::string>{
              "/etc/julier/julier.yaml:4:3: error: services[0].port: 70000 is out of range (allowed: 0-65535)",
              "/etc/julier/julier.yaml:12:3: error: services[1].vip: 'x' is not an IP address"});
    CHECK(d.warnings == std::vector<std::string>{"/etc/julier/julier.yaml:9:3: warning: services[0].ring_size: small"});
}

TEST_CASE("reload rules: a valid file with warnings is taken", "[daemon][reload]") {
    ParseResult next;
    next.catalogue = running();
    next.catalogue->services[0].port = 8080;
    next.diagnostics = {diagnostic(Severity::warning, 9, "services[0].backends", "no backends")};
    const auto d = decide_reload(running(), next);
    REQUIRE(d.catalogue);
    CHECK(d.errors.empty());
    CHECK(d.catalogue->services[0].port == 8080);
    CHECK(d.warnings.size() == 1);
}

TEST_CASE("reload rules: map sizes, pin_dir, control_socket and metrics wait for a restart", "[daemon][reload]") {
    ParseResult next;
    next.catalogue = running();
    next.catalogue->limits.max_flows = 2048;
    next.catalogue->pin_dir = "/sys/fs/bpf/other";
    next.catalogue->control_socket = "/run/other.sock";
    next.catalogue->metrics.port = 9999;
    next.catalogue->interfaces.push_back(Interface{"eth1", XdpMode::generic, {}});
    const auto d = decide_reload(running(), next);
    REQUIRE(d.catalogue);
    CHECK(d.catalogue->limits == running().limits);
    CHECK(d.catalogue->pin_dir == "/sys/fs/bpf/julier");
    CHECK(d.catalogue->control_socket == "/run/julier/julierd.sock");
    CHECK(d.catalogue->metrics.port == 9641);
    CHECK(d.catalogue->interfaces.size() == 2);  // interfaces apply at once
    REQUIRE(d.warnings.size() == 4);
    CHECK(d.warnings[0] ==
          "/etc/julier/julier.yaml: limits changed from max_services=64 max_backends=16384 "
          "ring_capacity=4194368 "
          "max_flows=1048576 to max_services=64 max_backends=16384 ring_capacity=4194368 max_flows=2048; "
          "it takes "
          "effect when julierd restarts (the running value is kept)");
    CHECK(d.warnings[1].find("pin_dir changed from /sys/fs/bpf/julier to /sys/fs/bpf/other") != std::string::npos);
    CHECK(d.warnings[2].find("control_socket changed") != std::string::npos);
    CHECK(d.warnings[3].find("metrics.listen changed from 127.0.0.1:9641 to 127.0.0.1:9999") != std::string::npos);
}

TEST_CASE("reload rules: an unchanged file warns about nothing", "[daemon][reload]") {
    ParseResult next;
    next.catalogue = running();
    const auto d = decide_reload(running(), next);
    REQUIRE(d.catalogue);
    CHECK(d.warnings.empty());
    CHECK(d.errors.empty());
}

TEST_CASE("reload rules: interfaces to detach and attach", "[daemon][reload]") {
    const std::vector<Interface> now{
        {"eth0", XdpMode::native, {}}, {"eth1", XdpMode::native, {}}, {"eth2", XdpMode::native, {}}};
    const std::vector<Interface> next{
        {"eth0", XdpMode::native, {}}, {"eth2", XdpMode::generic, {}}, {"eth3", XdpMode::native, {}}};
    const auto changes = interface_changes(now, next);
    REQUIRE(changes.detach.size() == 2);
    CHECK(changes.detach[0].name == "eth1");
    CHECK(changes.detach[1].name == "eth2");
    CHECK(changes.detach[1].xdp_mode == XdpMode::native);
    REQUIRE(changes.attach.size() == 2);
    CHECK(changes.attach[0].name == "eth2");
    CHECK(changes.attach[0].xdp_mode == XdpMode::generic);
    CHECK(changes.attach[1].name == "eth3");

    const auto none = interface_changes(now, now);
    CHECK(none.detach.empty());
    CHECK(none.attach.empty());
}
