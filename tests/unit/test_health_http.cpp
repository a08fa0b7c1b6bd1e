// The http check against a real HTTP server on loopback.
#include <catch2/catch.hpp>

#include "health/http_probe.h"
#include "health_test_servers.h"

using namespace julier::health;
using namespace julier::health::testing;

namespace {

julier::config::HealthCheck http_check(const std::string& path = "/healthz") {
    julier::config::HealthCheck check;
    check.kind = julier::config::HealthKind::http;
    check.http.path = path;
    return check;
}

}  // namespace

TEST_CASE("health http: a healthy backend passes and sees a proper request", "[health]") {
    asio::io_context io;
    HttpProbe probe(io);
    for (const auto& address : {kLoopback4, kLoopback6}) {
        CAPTURE(address.to_string());
        HttpServer server(io, address, HttpAnswer{});
        Result result = probe_once(io, probe, ProbeTarget{address, server.port()}, http_check());
        CHECK(result.ok);
        CHECK(result.reason == "status 200");
        REQUIRE(server.requests().size() == 1);
        std::string host = address.is_v6() ? "[::1]" : "127.0.0.1";
        CHECK(server.requests()[0] == "GET /healthz HTTP/1.1\r\nHost: " + host + ":" + std::to_string(server.port()) +
                                          "\r\nUser-Agent: julier-health\r\nAccept: */*\r\nConnection: close\r\n\r\n");
    }
}

TEST_CASE("health http: the configured Host header is sent", "[health]") {
    asio::io_context io;
    HttpProbe probe(io);
    HttpServer server(io, kLoopback4, HttpAnswer{});
    auto check = http_check("/");
    check.http.host = "www.example.org";
    REQUIRE(probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, check).ok);
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].find("\r\nHost: www.example.org\r\n") != std::string::npos);
}

TEST_CASE("health http: an unexpected status fails with the status", "[health]") {
    asio::io_context io;
    HttpProbe probe(io);
    HttpServer server(io, kLoopback4, answer(503, "overloaded"));
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, http_check());
    CHECK(result.failure == Failure::status);
    CHECK(result.reason == "status 503 (expected 200)");

    auto check = http_check();
    check.http.expect_status = {200, 503};
    CHECK(probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, check).ok);
}

TEST_CASE("health http: the body must contain expect_body", "[health]") {
    asio::io_context io;
    HttpProbe probe(io);
    auto check = http_check();
    check.http.expect_body = "database: ok";

    SECTION("plain body with the text") {
        HttpServer server(io, kLoopback4, answer(200, "cache: ok\ndatabase: ok\n"));
        Result result = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, check);
        CHECK(result.ok);
        CHECK(result.reason == "status 200, body matched");
    }
    SECTION("chunked body with the text split between chunks") {
        HttpAnswer chunked = answer(200, "xxxxxxxxxdatabase: okxxxxxxxxxxx");
        chunked.chunked = true;
        HttpServer server(io, kLoopback4, chunked);
        CHECK(probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, check).ok);
    }
    SECTION("body without the text") {
        HttpServer server(io, kLoopback4, answer(200, "database: down"));
        Result result = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, check);
        CHECK(result.failure == Failure::body);
        CHECK(result.reason == "body does not contain \"database: ok\"");
    }
}

TEST_CASE("health http: a slow backend times out waiting for the response", "[health]") {
    asio::io_context io;
    HttpProbe probe(io);
    HttpAnswer slow;
    slow.delay = 1000ms;
    HttpServer server(io, kLoopback4, slow);
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, http_check(), 150ms);
    CHECK(result.failure == Failure::timeout);
    CHECK(timed_out(result.reason, 150, " while waiting for the response"));
}

TEST_CASE("health http: a closed port is refused", "[health]") {
    asio::io_context io;
    HttpProbe probe(io);
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, closed_tcp_port(io, kLoopback4)}, http_check());
    CHECK(result.failure == Failure::refused);
}

TEST_CASE("health http: something that is not HTTP is a bad response", "[health]") {
    asio::io_context io;
    HttpProbe probe(io);
    HttpAnswer smtp;
    smtp.raw = "220 mail.example.org ESMTP ready\r\n\r\n";
    HttpServer server(io, kLoopback4, smtp);
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, http_check());
    CHECK(result.failure == Failure::bad_response);
    CHECK(result.reason == "malformed response: malformed status line \"220 mail.example.org ESMTP ready\"");
}

TEST_CASE("health http: a path with a line break is refused before connecting", "[health]") {
    asio::io_context io;
    HttpProbe probe(io);
    HttpServer server(io, kLoopback4, HttpAnswer{});
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, http_check("/a\r\nX: y"));
    CHECK(result.failure == Failure::config);
    CHECK(server.requests().empty());
}
