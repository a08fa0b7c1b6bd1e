// The metrics endpoint only reads: other methods and other paths are refused and
// change nothing, and the catalogue's default puts it on loopback.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "config/parse.h"
#include "metrics_server.h"
#include "metrics/lifecycle_metrics.h"
#include "metrics/metrics.h"

using namespace julier;

namespace {

struct Answer {
    int status = 0;
    std::string body;
};

// One raw HTTP/1.0 exchange on loopback: `head` is the request line and headers.
std::optional<Answer> exchange(std::uint16_t port, const std::string& head, const std::string& body = {}) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    const std::string request =
        head + "\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        close(fd);
        return std::nullopt;
    }
    std::string raw;
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) raw.append(buffer, static_cast<std::size_t>(n));
    close(fd);
    const auto head_end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) return std::nullopt;
    return Answer{std::atoi(raw.c_str() + raw.find(' ') + 1), raw.substr(head_end + 4)};
}

// The julier_ samples of a scrape.
std::vector<std::string> julier_samples(const std::string& text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const auto line = text.substr(pos, end - pos);
        if (line.rfind("julier_", 0) == 0) out.push_back(line);
        pos = end + 1;
    }
    return out;
}

}  // namespace

TEST_CASE("metrics endpoint: no method or path but GET /metrics does anything", "[metrics][security]") {
    metrics::Metrics state;
    state.lifecycle().config_loaded(7);
    state.lifecycle().reload_failed();
    testing::MetricsServer http("127.0.0.1:0", state);

    const auto before = exchange(http.port(), "GET /metrics HTTP/1.0");
    REQUIRE(before.has_value());
    REQUIRE(before->status == 200);
    const auto samples = julier_samples(before->body);
    REQUIRE_FALSE(samples.empty());

    for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "FOO"}) {
        INFO(method);
        const auto answer =
            exchange(http.port(), std::string(method) + " /metrics HTTP/1.0", "julier_config_generation 0\n");
        if (answer) {
            CHECK((answer->status < 200 || answer->status >= 300));
            CHECK(julier_samples(answer->body).empty());
        }
    }
    const std::vector<std::string> odd_paths = {"/",
                                                "/admin",
                                                "/reload",
                                                "/metrics/../etc/passwd",
                                                "/%2e%2e/%2e%2e/etc/passwd",
                                                "/debug/pprof",
                                                "/" + std::string(20000, 'a')};
    for (const auto& path : odd_paths) {
        INFO(path.substr(0, 40));
        const auto answer = exchange(http.port(), "GET " + path + " HTTP/1.0");
        if (answer) {
            CHECK(answer->status >= 400);
            CHECK(answer->body.find("root:") == std::string::npos);
            CHECK(julier_samples(answer->body).empty());
        }
    }

    const auto after = exchange(http.port(), "GET /metrics HTTP/1.0");
    REQUIRE(after.has_value());
    CHECK(after->status == 200);
    CHECK(julier_samples(after->body) == samples);
}

TEST_CASE("metrics endpoint: loopback unless the catalogue says otherwise", "[metrics][security]") {
    const auto r = config::parse_catalogue_text(
        "interfaces: [eth0]\nservices:\n  - {name: web, vip: 198.19.0.1, port: 80, backends: [198.18.0.20]}\n",
        "t.yaml");
    REQUIRE(r.ok());
    CHECK(r.catalogue->metrics.enabled);
    CHECK(r.catalogue->metrics.listen() == "127.0.0.1:9641");
}
