// The https check against a TLS server on loopback with certificates made here.
#include <catch2/catch.hpp>

#include "health/https_probe.h"
#include "health_test_servers.h"

using namespace julier::health;
using namespace julier::health::testing;

namespace {

julier::config::HealthCheck https_check() {
    julier::config::HealthCheck check;
    check.kind = julier::config::HealthKind::https;
    check.http.path = "/status";
    return check;
}

}  // namespace

TEST_CASE("health https: a self-signed certificate fails verification, passes without it", "[health]") {
    asio::io_context io;
    HttpsProbe probe(io);  // the system trust store
    KeyPair self_signed = make_certificate("backend.test", "DNS:backend.test,IP:127.0.0.1", nullptr, false);
    HttpServer server(io, kLoopback4, HttpAnswer{}, server_context(self_signed));
    auto check = https_check();
    check.http.sni = "backend.test";

    Result verified = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, check);
    CHECK(verified.failure == Failure::tls_verify);
    CHECK(verified.reason == std::string("certificate verification failed: ") +
                                 X509_verify_cert_error_string(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT));
    CHECK(server.requests().empty());

    check.http.verify_tls = false;
    Result trusted = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, check);
    CHECK(trusted.ok);
    CHECK(trusted.reason == "status 200");
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].find("GET /status HTTP/1.1\r\n") == 0);
    // The handshake that completed offered the configured server name.
    CHECK(server.server_names() == std::vector<std::string>{"backend.test"});
}

TEST_CASE("health https: verification against a CA checks the name", "[health]") {
    asio::io_context io;
    KeyPair ca = make_certificate("julier test CA", "", nullptr, true);
    KeyPair leaf = make_certificate("backend.test", "DNS:backend.test,IP:127.0.0.1", &ca, false);
    TempFile ca_file(ca.cert_pem());
    HttpsProbe probe(io, TlsOptions{ca_file.path()});
    HttpServer server(io, kLoopback4, HttpAnswer{}, server_context(leaf));
    ProbeTarget target{kLoopback4, server.port()};

    SECTION("SNI from host, name matches") {
        auto check = https_check();
        check.http.host = "backend.test:8443";
        Result result = probe_once(io, probe, target, check);
        CHECK(result.ok);
        CHECK(server.server_names() == std::vector<std::string>{"backend.test"});
        REQUIRE(server.requests().size() == 1);
        CHECK(server.requests()[0].find("\r\nHost: backend.test:8443\r\n") != std::string::npos);
    }
    SECTION("SNI that the certificate does not name") {
        auto check = https_check();
        check.http.sni = "other.test";
        Result result = probe_once(io, probe, target, check);
        CHECK(result.failure == Failure::tls_verify);
        CHECK(result.reason == std::string("certificate verification failed: ") +
                                   X509_verify_cert_error_string(X509_V_ERR_HOSTNAME_MISMATCH));
        CHECK(server.server_names().empty());  // the handshake never completed
    }
    SECTION("no name: the address is verified and no SNI is sent") {
        Result result = probe_once(io, probe, target, https_check());
        CHECK(result.ok);
        CHECK(server.server_names() == std::vector<std::string>{""});
    }
}

TEST_CASE("health https: a server that does not speak TLS fails the handshake", "[health]") {
    asio::io_context io;
    HttpsProbe probe(io);
    BannerServer server(io, kLoopback4, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    auto check = https_check();
    check.http.verify_tls = false;
    Result result = probe_once(io, probe, ProbeTarget{kLoopback4, server.port()}, check);
    CHECK(result.failure == Failure::tls);
    CHECK(result.reason.rfind("TLS handshake failed: ", 0) == 0);
}

TEST_CASE("health https: the server name comes from sni, else from host", "[health]") {
    julier::config::HttpCheck check;
    CHECK(tls_server_name(check).empty());
    check.host = "www.example.org";
    CHECK(tls_server_name(check) == "www.example.org");
    check.host = "www.example.org:8443";
    CHECK(tls_server_name(check) == "www.example.org");
    check.host = "198.18.0.1";
    CHECK(tls_server_name(check).empty());  // RFC 6066: no IP literals in SNI
    check.host = "[2001:db8::1]:443";
    CHECK(tls_server_name(check).empty());
    check.sni = "api.example.org";
    CHECK(tls_server_name(check) == "api.example.org");
}

TEST_CASE("health https: a CA file that cannot be read is an error at start", "[health]") {
    asio::io_context io;
    CHECK_THROWS_WITH(HttpsProbe(io, TlsOptions{"/nonexistent/ca.pem"}),
                      Catch::Matchers::StartsWith("cannot load CA file /nonexistent/ca.pem"));
}
