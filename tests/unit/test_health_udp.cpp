// The udp check against a real UDP server on loopback.
#include <catch2/catch.hpp>

#include "health/udp_probe.h"
#include "health_test_servers.h"

using namespace julier::health;
using namespace julier::health::testing;

namespace {

julier::config::HealthCheck udp_check(std::string payload, std::string expect) {
    julier::config::HealthCheck check;
    check.kind = julier::config::HealthKind::udp;
    check.udp.payload = std::move(payload);
    check.udp.expect = std::move(expect);
    return check;
}

}  // namespace

TEST_CASE("health udp: any reply passes when nothing is expected", "[health]") {
    asio::io_context io;
    UdpProbe probe(io);
    for (const auto& address : {kLoopback4, kLoopback6}) {
        CAPTURE(address.to_string());
        UdpServer server(io, address, std::string("pong"));
        Result result = probe_once(io, probe, ProbeTarget{address, server.port()}, udp_check("ping", ""));
        CHECK(result.ok);
        CHECK(result.reason == "reply of 4 bytes");
        CHECK(server.received() == std::vector<std::string>{"ping"});
    }
}

TEST_CASE("health udp: the reply must start with expect", "[health]") {
    asio::io_context io;
    UdpProbe probe(io);
    UdpServer server(io, kLoopback4, std::string("+PONG\r\n"));
    ProbeTarget target{kLoopback4, server.port()};
    CHECK(probe_once(io, probe, target, udp_check("PING\r\n", "+PONG")).ok);
    CHECK(probe_once(io, probe, target, udp_check("PING\r\n", "+PONG\r\n")).ok);

    Result result = probe_once(io, probe, target, udp_check("PING\r\n", "-ERR"));
    CHECK(result.failure == Failure::body);
    CHECK(result.reason == "reply \"+PONG\\r\\n\" does not start with \"-ERR\"");
}

TEST_CASE("health udp: silence is a timeout", "[health]") {
    asio::io_context io;
    UdpProbe probe(io);
    UdpServer server(io, kLoopback4, std::nullopt);
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, udp_check("hello", ""), 100ms);
    CHECK(result.failure == Failure::timeout);
    CHECK(timed_out(result.reason, 100, " while waiting for a reply"));
    CHECK(server.received().size() == 1);
}

TEST_CASE("health udp: a closed port is refused through ICMP", "[health]") {
    asio::io_context io;
    UdpProbe probe(io);
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, closed_udp_port(io, kLoopback4)}, udp_check("x", ""));
    CHECK(result.failure == Failure::refused);
    CHECK(result.reason == "connection refused (ICMP port unreachable)");
}
