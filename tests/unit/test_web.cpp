// julierd's HTTP server (web/): routing, escaping, rates, the page's content, and
// the server's bounds over real sockets on loopback.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "metrics_server.h"
#include "web/html.h"
#include "web/rates.h"
#include "web/routes.h"
#include "web/site.h"
#include "web/status_page.h"

using namespace julier;
using namespace julier::web;
namespace protocol = julier::daemon::protocol;

namespace {

// A connected TCP socket to the server, closed at the end.
class Client {
public:
    Client(std::uint16_t port, bool v6 = false) {
        fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        timeval timeout{5, 0};
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        int rc = -1;
        if (v6) {
            sockaddr_in6 addr{};
            addr.sin6_family = AF_INET6;
            addr.sin6_port = htons(port);
            addr.sin6_addr = in6addr_loopback;
            rc = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
        } else {
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_port = htons(port);
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            rc = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
        }
        REQUIRE(rc == 0);
    }
    ~Client() { close(fd_); }

    void send_text(const std::string& text) {
        REQUIRE(::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()));
    }

    // Reads until the server closes (or the timeout).
    std::string read_all() {
        std::string raw;
        char buffer[4096];
        for (ssize_t n; (n = recv(fd_, buffer, sizeof(buffer), 0)) > 0;)
            raw.append(buffer, static_cast<std::size_t>(n));
        return raw;
    }

    // Reads one response with a Content-Length body (and no body for HEAD).
    std::string read_response(bool head = false) {
        std::string raw;
        char c;
        while (raw.find("\r\n\r\n") == std::string::npos && recv(fd_, &c, 1, 0) == 1) raw += c;
        if (head) return raw;
        const auto at = raw.find("Content-Length: ");
        if (at == std::string::npos) return raw;
        std::size_t length = std::strtoul(raw.c_str() + at + 16, nullptr, 10);
        std::string body(length, '\0');
        std::size_t got = 0;
        while (got < length) {
            const auto n = recv(fd_, body.data() + got, length - got, 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        return raw + body.substr(0, got);
    }

    // True when the server closed the connection within `wait`.
    bool closed_within(std::chrono::milliseconds wait) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(wait.count())) != 1) return false;
        char c;
        return recv(fd_, &c, 1, MSG_DONTWAIT) == 0;
    }

private:
    int fd_ = -1;
};

int status_of(const std::string& response) {
    if (response.rfind("HTTP/1.", 0) != 0) return 0;
    return std::atoi(response.c_str() + response.find(' ') + 1);
}

std::string body_of(const std::string& response) {
    const auto at = response.find("\r\n\r\n");
    return at == std::string::npos ? "" : response.substr(at + 4);
}

std::string get(std::uint16_t port, const std::string& target, const std::string& method = "GET") {
    Client c(port);
    c.send_text(method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return c.read_all();
}

protocol::Status sample_status() {
    protocol::Status s;
    s.version = "0.1.0";
    s.pid = 42;
    s.uptime_seconds = 3725;
    s.config_file = "/etc/julier/julier.yaml";
    s.config_generation = 3;
    s.dataplane_generation = 9;
    s.last_reload = {"failed", 1700000000, "julier.yaml:4:5: error: <bad> & worse"};
    s.interfaces = {"eth0"};
    s.interface_states = {{"eth0", true, 1, "attached at start"}};
    s.services = 1;
    s.backends = 2;
    s.bgp = true;
    s.announcements = {{"198.19.0.1", "hold-down", 1, 2, 4, 26, {"web<1>"}}};
    s.bgp_sessions = {{"julier_n1", "198.18.0.1", "Established"}};
    return s;
}

std::vector<protocol::ServiceInfo> sample_services(std::uint64_t packets) {
    protocol::ServiceInfo s;
    s.name = "web<1>";
    s.vip = "198.19.0.1";
    s.port = 80;
    s.protocol = "tcp";
    s.forwarding = "nat";
    s.backends = 2;
    s.backends_in_ring = 1;
    s.packets = packets;
    s.bytes = packets * 100;
    s.new_flows = packets / 10;
    return {s};
}

std::vector<protocol::BackendInfo> sample_backends() {
    protocol::BackendInfo up;
    up.service = "web<1>";
    up.address = "198.18.0.20";
    up.weight = 100;
    up.weight_now = 100;
    up.health = health::State::up;
    up.health_reason = "2 checks passed";
    up.state = plan::BackendRole::in_ring;
    auto down = up;
    down.address = "198.18.0.21";
    down.weight_now = 0;
    down.health = health::State::down;
    down.health_reason = "<script>alert('x')</script>";
    down.state = plan::BackendRole::draining;
    down.drain_source = "operator";
    down.problem = "no ARP answer";
    return {up, down};
}

}  // namespace

TEST_CASE("web: routes, methods and paths", "[web]") {
    CHECK(route("GET", "/metrics").route == Route::metrics);
    CHECK(route("HEAD", "/").route == Route::page);
    CHECK(route("GET", "/api/status").route == Route::api_status);
    CHECK(route("GET", "/api/services?x=1").route == Route::api_services);
    CHECK(route("GET", "/api/backends").route == Route::api_backends);

    for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get"}) {
        INFO(method);
        const auto r = route(method, "/api/status");
        CHECK_FALSE(r.route);
        CHECK(r.refusal.status == 405);
        REQUIRE(r.refusal.headers.size() == 1);
        CHECK(r.refusal.headers[0] == std::pair<std::string, std::string>{"Allow", "GET, HEAD"});
    }
    for (const char* path : {"/metrics/", "/api", "/api/status/x", "/index.html", "", "metrics", "/../metrics"}) {
        INFO(path);
        CHECK(route("GET", path).refusal.status == 404);
        CHECK(route("POST", path).refusal.status == 404);
    }
}

TEST_CASE("web: escape", "[web]") {
    CHECK(escape("plain 198.18.0.1") == "plain 198.18.0.1");
    CHECK(escape(R"(<a href="x" title='y'>&</a>)") == "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
}

TEST_CASE("web: rates need two samples a second apart", "[web]") {
    RateSampler sampler;
    const auto t0 = RateSampler::Clock::time_point{} + std::chrono::hours(1);
    auto r = sampler.observe(t0, sample_services(1000));
    CHECK(r.seconds == 0);
    CHECK(r.services.empty());

    // Too soon after the first: still no reference.
    r = sampler.observe(t0 + std::chrono::milliseconds(300), sample_services(1100));
    CHECK(r.services.empty());

    r = sampler.observe(t0 + std::chrono::seconds(2), sample_services(1400));
    CHECK(r.seconds == Approx(2.0));
    REQUIRE(r.services.count("web<1>") == 1);
    CHECK(r.services["web<1>"].packets == Approx(200.0));
    CHECK(r.services["web<1>"].bytes == Approx(20000.0));
    CHECK(r.services["web<1>"].new_flows == Approx(20.0));

    // Soon after: over the window from the sample before.
    r = sampler.observe(t0 + std::chrono::milliseconds(2500), sample_services(1500));
    CHECK(r.seconds == Approx(2.5));
    CHECK(r.services["web<1>"].packets == Approx(200.0));

    // Counters that went down (a new forwarder) give no rate.
    r = sampler.observe(t0 + std::chrono::seconds(4), sample_services(10));
    CHECK(r.services.count("web<1>") == 0);
}

TEST_CASE("web: the page shows services, backends, health, reasons and announcements, escaped", "[web]") {
    PageData data{sample_status(), sample_services(1000), sample_backends(), {}, 1700000100};
    data.rates.seconds = 10;
    data.rates.services["web<1>"] = {12.5, 2048, 1.5};
    const auto html = render_page(data);

    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("web&lt;1&gt;") != std::string::npos);
    CHECK(html.find("web<1>") == std::string::npos);
    CHECK(html.find("&lt;bad&gt; &amp; worse") != std::string::npos);
    CHECK(html.find("198.19.0.1:80 tcp") != std::string::npos);
    CHECK(html.find("198.18.0.20") != std::string::npos);
    CHECK(html.find("2 checks passed") != std::string::npos);
    CHECK(html.find(">down<") != std::string::npos);
    CHECK(html.find(">drain<") != std::string::npos);
    CHECK(html.find(">operator<") != std::string::npos);
    CHECK(html.find("no ARP answer") != std::string::npos);
    CHECK(html.find(">hold-down<") != std::string::npos);
    CHECK(html.find("announced in 26s") != std::string::npos);
    CHECK(html.find(">Established<") != std::string::npos);
    CHECK(html.find("up <b>1h 2m 5s</b>") != std::string::npos);
    CHECK(html.find("2023-11-14 22:13:20 UTC") != std::string::npos);  // the last reload
    CHECK(html.find(">12.5<") != std::string::npos);                   // packets per second
    CHECK(html.find(">2.0 KiB<") != std::string::npos);                // bytes per second
    CHECK(html.find("Rates over the last 10 s") != std::string::npos);
    // Nothing is loaded from elsewhere.
    CHECK(html.find("src=") == std::string::npos);
    CHECK(html.find("http://") == std::string::npos);
    CHECK(html.find("https://") == std::string::npos);

    data.status.bgp = false;
    data.rates = {};
    const auto plain = render_page(data);
    CHECK(plain.find("announces nothing") != std::string::npos);
    CHECK(plain.find("Rates need two views") != std::string::npos);
}

TEST_CASE("web: formats", "[web]") {
    CHECK(format_duration(0) == "0s");
    CHECK(format_duration(61) == "1m 1s");
    CHECK(format_duration(90061) == "1d 1h 1m");
    CHECK(format_bytes(512) == "512 B");
    CHECK(format_bytes(1536) == "1.5 KiB");
    CHECK(format_bytes(3.0 * 1024 * 1024 * 1024) == "3.0 GiB");
    CHECK(format_rate(0) == "0");
    CHECK(format_rate(2.25) == "2.2");
    CHECK(format_rate(1234.4) == "1234");
}

TEST_CASE("web: the JSON answers are the control socket's, as julierctl --json prints them", "[web]") {
    int status_calls = 0;
    Site site(Sources{{},
                      [&] {
                          ++status_calls;
                          return sample_status();
                      },
                      [] { return sample_services(5); },
                      [] { return sample_backends(); }});
    const auto status = site.answer({"GET", "/api/status"});
    CHECK(status.status == 200);
    CHECK(status.content_type == "application/json");
    // What julierctl --json prints: the decoded result of the socket's line, dump(2).
    const auto line = protocol::encode_response(protocol::success(sample_status()));
    CHECK(status.body == protocol::decode_response(line).result.dump(2) + "\n");
    CHECK(nlohmann::json::parse(status.body).get<protocol::Status>().announcements[0].state == "hold-down");

    const auto backends = site.answer({"GET", "/api/backends"});
    const auto parsed = nlohmann::json::parse(backends.body).get<std::vector<protocol::BackendInfo>>();
    REQUIRE(parsed.size() == 2);
    CHECK(parsed[1].health_reason == "<script>alert('x')</script>");

    CHECK(site.answer({"GET", "/metrics"}).status == 503);  // no source
    CHECK(site.answer({"POST", "/api/status"}).status == 405);
    CHECK(site.answer({"GET", "/nope"}).status == 404);
    const int before = status_calls;
    site.answer({"DELETE", "/"});
    CHECK(status_calls == before);  // a refused request reads nothing

    const auto page = site.answer({"GET", "/"});
    CHECK(page.status == 200);
    CHECK(page.content_type == "text/html; charset=utf-8");
    REQUIRE(page.headers.size() == 1);
    CHECK(page.headers[0].first == "Content-Security-Policy");
    CHECK(page.headers[0].second.find("default-src 'none'") != std::string::npos);
}

TEST_CASE("web: the server over TCP: methods, paths, HEAD, keep-alive, limits", "[web]") {
    metrics::Metrics state;
    state.lifecycle().config_loaded(7);
    web::Limits limits;
    limits.max_connections = 3;
    limits.timeout = std::chrono::milliseconds(500);
    testing::MetricsServer server("127.0.0.1:0", state, limits);
    const auto port = server.port();

    const auto scrape = get(port, "/metrics");
    CHECK(status_of(scrape) == 200);
    CHECK(body_of(scrape) == state.render());
    CHECK(scrape.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);

    const auto post = get(port, "/metrics", "POST");
    CHECK(status_of(post) == 405);
    CHECK(post.find("Allow: GET, HEAD\r\n") != std::string::npos);
    CHECK(status_of(get(port, "/nothing")) == 404);

    SECTION("HEAD: the length of the body, no body") {
        Client c(port);
        c.send_text("HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        const auto head = c.read_all();
        CHECK(status_of(head) == 200);
        CHECK(head.find("Content-Length: " + std::to_string(state.render().size()) + "\r\n") != std::string::npos);
        CHECK(body_of(head).empty());
    }
    SECTION("keep-alive: two requests on one connection") {
        Client c(port);
        c.send_text("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(status_of(c.read_response()) == 200);
        c.send_text("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CHECK(status_of(c.read_response()) == 404);
    }
    SECTION("a request with a body is refused") {
        Client c(port);
        c.send_text("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
        CHECK(status_of(c.read_all()) == 413);
    }
    SECTION("a request head over the limit is refused") {
        Client c(port);
        c.send_text("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
        CHECK(status_of(c.read_all()) == 431);
    }
    SECTION("a malformed request is refused") {
        Client c(port);
        c.send_text("GET /metrics HTTP/9\r\n\r\n");
        CHECK(status_of(c.read_all()) == 400);
    }
    SECTION("a client that sends nothing is dropped after the timeout") {
        Client c(port);
        c.send_text("GET /metr");
        CHECK(c.closed_within(std::chrono::milliseconds(3000)));
    }
    SECTION("connections over the limit are told so and closed") {
        std::vector<std::unique_ptr<Client>> held;
        for (int i = 0; i < 3; ++i) {
            held.push_back(std::make_unique<Client>(port));
            held.back()->send_text("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
            CHECK(status_of(held.back()->read_response()) == 200);  // accepted and served: a slot taken
        }
        CHECK(status_of(get(port, "/metrics")) == 503);
        held.clear();
        // The slots come back once those connections are gone.
        bool served = false;
        for (int i = 0; i < 50 && !served; ++i) {
            served = status_of(get(port, "/metrics")) == 200;
            if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        CHECK(served);
    }
}

TEST_CASE("web: the server listens on IPv6", "[web]") {
    metrics::Metrics state;
    testing::MetricsServer server("[::1]:0", state);
    Client c(server.port(), /*v6=*/true);
    c.send_text("GET /metrics HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n");
    CHECK(status_of(c.read_all()) == 200);
}

TEST_CASE("web: listen addresses julierd --check accepts are the ones the server takes", "[web]") {
    for (const char* good : {"127.0.0.1:9641", "[2001:db8::1]:9641", "[::1]:0", "0.0.0.0:80"}) {
        INFO(good);
        CHECK(parse_listen(good).to_string() == good);
    }
    for (const char* bad : {"127.0.0.1", "::1:9641", "[127.0.0.1]:9641", "localhost:9641", "127.0.0.1:70000"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_listen(bad), HttpError);
    }
}
