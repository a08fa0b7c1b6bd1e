// The tcp check against real listeners on loopback.
#include <catch2/catch.hpp>

#include "health/tcp_probe.h"
#include "health_test_servers.h"

using namespace julier::health;
using namespace julier::health::testing;

TEST_CASE("health tcp: passes when the port accepts", "[health]") {
    asio::io_context io;
    TcpProbe probe(io);
    julier::config::HealthCheck check;
    for (const auto& address : {kLoopback4, kLoopback6}) {
        CAPTURE(address.to_string());
        TcpServer server(io, address);
        Result result = probe_once(io, probe, ProbeTarget{address, server.port()}, check);
        CHECK(result.ok);
        CHECK(result.failure == Failure::none);
        CHECK(result.duration > std::chrono::nanoseconds(0));
        CHECK(result.duration < std::chrono::milliseconds(500));
    }
}

TEST_CASE("health tcp: a closed port is refused", "[health]") {
    asio::io_context io;
    TcpProbe probe(io);
    julier::config::HealthCheck check;
    std::uint16_t port = closed_tcp_port(io, kLoopback4);
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, port}, check);
    CHECK_FALSE(result.ok);
    CHECK(result.failure == Failure::refused);
    CHECK(result.reason == "connection refused");
}

TEST_CASE("health tcp: a backend that does not answer times out at the deadline", "[health]") {
    asio::io_context io;
    TcpProbe probe(io);
    julier::config::HealthCheck check;
    StalledTcpServer server(io, kLoopback4);
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, check, 150ms);
    CHECK(result.failure == Failure::timeout);
    CHECK(timed_out(result.reason, 150, " while connecting"));
    CHECK(result.duration >= 145ms);
    CHECK(result.duration < 400ms);
}

TEST_CASE("health tcp: no port is a configuration failure", "[health]") {
    asio::io_context io;
    TcpProbe probe(io);
    julier::config::HealthCheck check;
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, 0}, check);
    CHECK(result.failure == Failure::config);
    CHECK(result.reason == "no port to check (set health.port)");
}

TEST_CASE("health tcp: a cancelled probe never calls back", "[health]") {
    asio::io_context io;
    TcpProbe probe(io);
    julier::config::HealthCheck check;
    StalledTcpServer server(io, kLoopback4);
    int calls = 0;
    ProbeHandle handle = probe.async_probe(ProbeTarget{kLoopback4, server.port()}, check,
                                           std::chrono::steady_clock::now() + 100ms, [&](Result) { ++calls; });
    run_for(io, 20ms);
    handle.cancel();
    run_for(io, 200ms);
    CHECK(calls == 0);
    handle.cancel();  // again: harmless
}
