// The dns check against a small DNS server on loopback.
#include <catch2/catch.hpp>

#include "health/dns_probe.h"
#include "health_test_servers.h"

using namespace julier::health;
using namespace julier::health::testing;

namespace {

julier::config::HealthCheck dns_check(std::string name, std::uint16_t type) {
    julier::config::HealthCheck check;
    check.kind = julier::config::HealthKind::dns;
    check.dns.name = std::move(name);
    check.dns.type = type;
    return check;
}

}  // namespace

TEST_CASE("health dns: NOERROR passes, and the query is what was configured", "[health]") {
    asio::io_context io;
    DnsProbe probe(io);
    for (const auto& address : {kLoopback4, kLoopback6}) {
        CAPTURE(address.to_string());
        DnsServer server(io, address, 0);
        Result result = probe_once(io, probe, ProbeTarget{address, server.port()}, dns_check("example.com", 28));
        CHECK(result.ok);
        CHECK(result.reason == "NOERROR for example.com. AAAA, 0 answer record(s)");
        REQUIRE(server.queries().size() == 1);
        const std::string& query = server.queries()[0];
        // Flags: a standard query with recursion desired; one question.
        CHECK(query.substr(2, 4) == std::string("\x01\x00\x00\x01", 4));
        CHECK(query.substr(12) == std::string("\x07"
                                              "example"
                                              "\x03"
                                              "com"
                                              "\x00"
                                              "\x00\x1c"
                                              "\x00\x01",
                                              17));
    }
}

TEST_CASE("health dns: another rcode fails with its name", "[health]") {
    asio::io_context io;
    DnsProbe probe(io);
    DnsServer nxdomain(io, kLoopback4, 3);
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, nxdomain.port()}, dns_check("missing.example", 1));
    CHECK(result.failure == Failure::dns_rcode);
    CHECK(result.reason == "NXDOMAIN for missing.example. A");

    DnsServer servfail(io, kLoopback4, 2);
    CHECK(probe_once(io, probe, ProbeTarget{kLoopback4, servfail.port()}, dns_check(".", 2)).reason ==
          "SERVFAIL for . NS");
}

TEST_CASE("health dns: no answer, or answers to another query, time out", "[health]") {
    asio::io_context io;
    DnsProbe probe(io);
    DnsServer silent(io, kLoopback4, 0, DnsServer::Mode::silent);
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, silent.port()}, dns_check("example.com", 1), 100ms);
    CHECK(result.failure == Failure::timeout);
    CHECK(timed_out(result.reason, 100, " while waiting for the answer"));

    DnsServer wrong_id(io, kLoopback4, 0, DnsServer::Mode::wrong_id);
    result = probe_once(io, probe, ProbeTarget{kLoopback4, wrong_id.port()}, dns_check("example.com", 1), 100ms);
    CHECK(result.failure == Failure::timeout);
}

TEST_CASE("health dns: a closed port is refused, a bad name is a config failure", "[health]") {
    asio::io_context io;
    DnsProbe probe(io);
    Result refused =
        probe_once(io, probe, ProbeTarget{kLoopback4, closed_udp_port(io, kLoopback4)}, dns_check("a.b", 1));
    CHECK(refused.failure == Failure::refused);

    DnsServer server(io, kLoopback4, 0);
    Result bad = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, dns_check("a..b", 1));
    CHECK(bad.failure == Failure::config);
    CHECK(bad.reason == "health.dns.name \"a..b\": empty label in DNS name");
    CHECK(server.queries().empty());
}
