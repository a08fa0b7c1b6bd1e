// The metrics as Prometheus sees them: julier's collectors served by the HTTP
// endpoint on a free loopback port, scraped with a plain HTTP GET and parsed here.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "julier/abi.h"
#include "metrics_server.h"
#include "metrics/metric_specs.h"
#include "metrics/metrics.h"

using namespace julier;
using namespace julier::metrics;

namespace {

// ---- a minimal HTTP client and text-format reader ----

struct HttpResponse {
    int status = 0;
    std::string body;
};

// No Catch assertions in here: it also runs on threads of its own, and Catch's
// assertions are for the test's thread only. nullopt on any failure.
std::optional<HttpResponse> fetch(std::uint16_t port, const std::string& path) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    // HTTP/1.0: the server closes the connection after the answer; no gzip asked for.
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        close(fd);
        return std::nullopt;
    }
    std::string raw;
    char buffer[4096];
    for (;;) {
        const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0) break;
        raw.append(buffer, static_cast<std::size_t>(n));
    }
    close(fd);

    const auto head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos || raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return std::nullopt;
    HttpResponse response;
    response.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
    response.body = raw.substr(head_end + 4);
    return response;
}

HttpResponse http_get(std::uint16_t port, const std::string& path) {
    auto response = fetch(port, path);
    INFO("GET http://127.0.0.1:" << port << path);
    REQUIRE(response.has_value());
    return *response;
}

using LabelSet = std::map<std::string, std::string>;

struct Sample {
    std::string name;
    LabelSet labels;
    double value = 0;
};

// Reads sample lines ("name{a="b",c="d"} 1.5"); comments are checked separately.
std::vector<Sample> parse_samples(const std::string& text) {
    std::vector<Sample> samples;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty() || line[0] == '#') continue;
        Sample sample;
        std::size_t i = line.find_first_of("{ ");
        REQUIRE(i != std::string::npos);
        sample.name = line.substr(0, i);
        if (line[i] == '{') {
            ++i;
            while (line[i] != '}') {
                const auto eq = line.find('=', i);
                std::string key = line.substr(i, eq - i);
                REQUIRE(line[eq + 1] == '"');
                std::string value;
                std::size_t j = eq + 2;
                for (; line[j] != '"'; ++j) {
                    if (line[j] == '\\') {
                        ++j;
                        value += line[j] == 'n' ? '\n' : line[j];
                    } else {
                        value += line[j];
                    }
                }
                sample.labels[key] = value;
                i = j + 1;
                if (line[i] == ',') ++i;
            }
            ++i;
        }
        REQUIRE(line[i] == ' ');
        const std::string value = line.substr(i + 1);
        sample.value = value == "+Inf" ? HUGE_VAL : std::stod(value);
        samples.push_back(std::move(sample));
    }
    return samples;
}

struct Scrape {
    std::string text;
    std::vector<Sample> samples;

    std::optional<double> find(const std::string& name, const LabelSet& labels = {}) const {
        for (const auto& s : samples)
            if (s.name == name && s.labels == labels) return s.value;
        return std::nullopt;
    }
    double value(const std::string& name, const LabelSet& labels = {}) const {
        auto v = find(name, labels);
        INFO(name << " with the given labels is in the scrape");
        REQUIRE(v.has_value());
        return *v;
    }
    std::vector<const Sample*> all(const std::string& name) const {
        std::vector<const Sample*> out;
        for (const auto& s : samples)
            if (s.name == name) out.push_back(&s);
        return out;
    }
    bool mentions(const std::string& label_value) const {
        for (const auto& s : samples)
            for (const auto& [k, v] : s.labels)
                if (v == label_value) return true;
        return false;
    }
};

Scrape scrape(const testing::MetricsServer& endpoint) {
    const auto response = http_get(endpoint.port(), "/metrics");
    REQUIRE(response.status == 200);
    return Scrape{response.body, parse_samples(response.body)};
}

struct Promtool {
    int exit_code = -1;
    std::string output;
};

// `promtool check metrics` lints the text format and the naming conventions.
Promtool promtool_check(const std::string& text) {
    char path[] = "/tmp/julier-metrics-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
    Promtool result;
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[512];
    while (fgets(buffer, sizeof(buffer), pipe)) result.output += buffer;
    const int status = pclose(pipe);
    unlink(path);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

// ---- the fixture: a forwarder with two services ----

// web 198.18.0.100:80/tcp (service id 1): backends 198.18.1.1 (id 3, up, weight 100)
// and 198.18.1.2 (id 5, draining); dns [2001:db8::53]:53/udp (id 0): backend
// 2001:db8::10 (id 2, down).
LabelTable two_services() {
    LabelTable table;
    table.services.push_back(ServiceLabels{
        .id = 1,
        .name = "web",
        .vip = "198.18.0.100",
        .port = "80",
        .protocol = "tcp",
        .backends = {
            {.id = 3, .address = "198.18.1.1", .up = true, .draining = false, .weight = 100, .configured_weight = 100},
            {.id = 5, .address = "198.18.1.2", .up = true, .draining = true, .weight = 0, .configured_weight = 50},
        }});
    table.services.push_back(ServiceLabels{.id = 0,
                                           .name = "dns",
                                           .vip = "2001:db8::53",
                                           .port = "53",
                                           .protocol = "udp",
                                           .backends = {
                                               {.id = 2,
                                                .address = "2001:db8::10",
                                                .up = false,
                                                .draining = false,
                                                .maint = true,
                                                .weight = 0,
                                                .configured_weight = 10},
                                           }});
    return table;
}

ForwarderReading reading() {
    ForwarderReading r;
    r.generation = 42;
    r.counters.services.resize(4);
    r.counters.backends.resize(8);
    r.counters.services[1] = {.packets = 10, .bytes = 1500, .new_flows = 2, .nonsyn_miss = 4};
    r.counters.services[0] = {.packets = 7, .bytes = 700, .new_flows = 7};
    r.counters.services[2] = {.packets = 99, .bytes = 99, .new_flows = 99};  // no such service
    r.counters.backends[3] = {.packets = 6, .bytes = 900, .new_flows = 2};
    r.counters.backends[5] = {.packets = 4, .bytes = 600};
    r.counters.backends[2] = {.packets = 7, .bytes = 700};
    r.counters.reasons[JL_CNT_TX_FORWARD] = {.packets = 10, .bytes = 1500};
    r.counters.reasons[JL_CNT_REDIRECT_FORWARD] = {.packets = 7, .bytes = 700};
    r.counters.reasons[JL_CNT_TX_FORWARD_FLOOD] = {.packets = 5, .bytes = 320};
    r.counters.reasons[JL_CNT_REDIRECT_FORWARD_FLOOD] = {.packets = 2, .bytes = 128};
    r.counters.reasons[JL_CNT_DROP_NO_BACKEND] = {.packets = 3, .bytes = 180};
    r.counters.reasons[JL_CNT_PASS_NOT_IP] = {.packets = 1, .bytes = 60};
    return r;
}

LabelSet web_service() { return {{"service", "web"}, {"vip", "198.18.0.100"}, {"port", "80"}, {"protocol", "tcp"}}; }

LabelSet backend(const std::string& service, const std::string& address) {
    return {{"service", service}, {"backend", address}};
}

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

}  // namespace

TEST_CASE("metrics: forwarder counters carry the live plan's labels", "[metrics]") {
    Metrics metrics([] { return reading(); });
    metrics.publish(two_services());
    testing::MetricsServer http("127.0.0.1:0", metrics);
    REQUIRE(http.port() != 0);
    const auto s = scrape(http);

    CHECK(s.value("julier_service_packets_total", web_service()) == 10);
    CHECK(s.value("julier_service_bytes_total", web_service()) == 1500);
    CHECK(s.value("julier_service_new_flows_total", web_service()) == 2);
    CHECK(s.value("julier_service_nonsyn_miss_total", web_service()) == 4);
    const LabelSet dns{{"service", "dns"}, {"vip", "2001:db8::53"}, {"port", "53"}, {"protocol", "udp"}};
    CHECK(s.value("julier_service_packets_total", dns) == 7);
    CHECK(s.value("julier_service_new_flows_total", dns) == 7);
    // Counters of ids the plan does not name are not shown.
    CHECK(s.all("julier_service_packets_total").size() == 2);

    CHECK(s.value("julier_backend_packets_total", backend("web", "198.18.1.1")) == 6);
    CHECK(s.value("julier_backend_bytes_total", backend("web", "198.18.1.1")) == 900);
    CHECK(s.value("julier_backend_packets_total", backend("web", "198.18.1.2")) == 4);
    CHECK(s.value("julier_backend_bytes_total", backend("dns", "2001:db8::10")) == 700);
    CHECK(s.value("julier_backend_new_flows_total", backend("web", "198.18.1.1")) == 2);
    CHECK(s.value("julier_backend_new_flows_total", backend("web", "198.18.1.2")) == 0);
    CHECK(s.all("julier_backend_packets_total").size() == 3);

    CHECK(s.value("julier_forwarder_packets_total", {{"verdict", "tx"}, {"reason", "forward"}}) == 10);
    CHECK(s.value("julier_forwarder_bytes_total", {{"verdict", "tx"}, {"reason", "forward"}}) == 1500);
    CHECK(s.value("julier_forwarder_packets_total", {{"verdict", "redirect"}, {"reason", "forward"}}) == 7);
    // Forwarded over the flood rate (not remembered): their own series.
    CHECK(s.value("julier_forwarder_packets_total", {{"verdict", "tx"}, {"reason", "forward_flood"}}) == 5);
    CHECK(s.value("julier_forwarder_bytes_total", {{"verdict", "tx"}, {"reason", "forward_flood"}}) == 320);
    CHECK(s.value("julier_forwarder_packets_total", {{"verdict", "redirect"}, {"reason", "forward_flood"}}) == 2);
    CHECK(s.value("julier_forwarder_packets_total", {{"verdict", "drop"}, {"reason", "no_backend"}}) == 3);
    CHECK(s.value("julier_forwarder_bytes_total", {{"verdict", "drop"}, {"reason", "no_backend"}}) == 180);
    CHECK(s.value("julier_forwarder_packets_total", {{"verdict", "pass"}, {"reason", "not_ip"}}) == 1);
    CHECK(s.value("julier_forwarder_packets_total", {{"verdict", "drop"}, {"reason", "ttl_expired"}}) == 0);
    // One series per forwarder counter, each with a known verdict.
    const auto verdicts = s.all("julier_forwarder_packets_total");
    CHECK(verdicts.size() == JL_CNT_COUNT);
    for (const auto* v : verdicts)
        CHECK(std::set<std::string>{"pass", "drop", "tx", "redirect"}.count(v->labels.at("verdict")) == 1);

    CHECK(s.value("julier_backend_up", backend("web", "198.18.1.1")) == 1);
    CHECK(s.value("julier_backend_up", backend("dns", "2001:db8::10")) == 0);
    CHECK(s.value("julier_backend_weight", backend("web", "198.18.1.1")) == 100);
    CHECK(s.value("julier_backend_weight", backend("web", "198.18.1.2")) == 0);
    CHECK(s.value("julier_backend_configured_weight", backend("web", "198.18.1.2")) == 50);
    CHECK(s.value("julier_backend_draining", backend("web", "198.18.1.2")) == 1);
    CHECK(s.value("julier_backend_draining", backend("web", "198.18.1.1")) == 0);
    CHECK(s.value("julier_backend_maint", backend("dns", "2001:db8::10")) == 1);
    CHECK(s.value("julier_backend_maint", backend("web", "198.18.1.2")) == 0);
    CHECK(s.all("julier_backend_maint").size() == 3);

    CHECK(s.value("julier_dataplane_generation") == 42);
    CHECK(s.value("julier_forwarder_read_errors_total") == 0);
}

TEST_CASE("metrics: counters are read at scrape time", "[metrics]") {
    std::uint64_t packets = 0;
    Metrics metrics([&packets] {
        auto r = reading();
        r.counters.backends[3].packets = packets;
        return r;
    });
    metrics.publish(two_services());
    testing::MetricsServer http("127.0.0.1:0", metrics);

    packets = 5;
    CHECK(scrape(http).value("julier_backend_packets_total", backend("web", "198.18.1.1")) == 5);
    packets = 123456789012;  // beyond 32 bits, still exact in the text format
    CHECK(scrape(http).value("julier_backend_packets_total", backend("web", "198.18.1.1")) == 123456789012.0);
}

TEST_CASE("metrics: a backend removed from the plan disappears on the next scrape", "[metrics]") {
    Metrics metrics([] { return reading(); });
    metrics.publish(two_services());
    metrics.probes().record_probe({.service = "web",
                                   .backend = "198.18.1.2",
                                   .kind = "http",
                                   .duration = std::chrono::milliseconds(20),
                                   .failure = "timeout"});
    testing::MetricsServer http("127.0.0.1:0", metrics);

    const auto before = scrape(http);
    REQUIRE(before.mentions("198.18.1.2"));
    REQUIRE(before.find("julier_health_check_failures_total",
                        {{"service", "web"}, {"backend", "198.18.1.2"}, {"reason", "timeout"}}) == 1);

    auto table = two_services();
    table.services[0].backends.pop_back();  // web loses 198.18.1.2
    table.services.pop_back();              // dns goes altogether
    metrics.publish(table);

    const auto after = scrape(http);
    CHECK_FALSE(after.mentions("198.18.1.2"));
    CHECK_FALSE(after.mentions("dns"));
    CHECK_FALSE(after.mentions("2001:db8::10"));
    CHECK(after.all("julier_backend_up").size() == 1);
    CHECK(after.all("julier_health_check_failures_total").empty());
    // The remaining backend is untouched.
    CHECK(after.value("julier_backend_packets_total", backend("web", "198.18.1.1")) == 6);
}

TEST_CASE("metrics: probe durations and failures", "[metrics]") {
    Metrics metrics;
    using std::chrono::milliseconds;
    metrics.probes().record_probe(
        {.service = "web", .backend = "198.18.1.1", .kind = "http", .duration = milliseconds(3), .failure = ""});
    metrics.probes().record_probe({.service = "web",
                                   .backend = "198.18.1.2",
                                   .kind = "http",
                                   .duration = milliseconds(200),
                                   .failure = "status"});
    metrics.probes().record_probe({.service = "web",
                                   .backend = "198.18.1.2",
                                   .kind = "http",
                                   .duration = milliseconds(3000),
                                   .failure = "timeout"});
    metrics.probes().record_probe(
        {.service = "web", .backend = "198.18.1.2", .kind = "http", .duration = milliseconds(5), .failure = "timeout"});
    // Free text is not a label value.
    metrics.probes().record_probe({.service = "web",
                                   .backend = "198.18.1.1",
                                   .kind = "http",
                                   .duration = milliseconds(1),
                                   .failure = "Connection refused"});
    testing::MetricsServer http("127.0.0.1:0", metrics);
    const auto s = scrape(http);

    const auto bucket = [&](const std::string& le) {
        return s.value("julier_health_check_duration_seconds_bucket",
                       {{"service", "web"}, {"kind", "http"}, {"le", le}});
    };
    CHECK(bucket("0.001") == 1);  // 1 ms falls in le=0.001
    CHECK(bucket("0.005") == 3);  // 3 ms and 5 ms too
    CHECK(bucket("0.1") == 3);
    CHECK(bucket("0.25") == 4);  // 200 ms
    CHECK(bucket("2.5") == 4);
    CHECK(bucket("5") == 5);  // 3 s
    CHECK(bucket("+Inf") == 5);
    CHECK(s.value("julier_health_check_duration_seconds_count", {{"service", "web"}, {"kind", "http"}}) == 5);
    CHECK(s.value("julier_health_check_duration_seconds_sum", {{"service", "web"}, {"kind", "http"}}) == Approx(3.209));

    const LabelSet b2{{"service", "web"}, {"backend", "198.18.1.2"}};
    auto with = [](LabelSet l, const std::string& reason) {
        l["reason"] = reason;
        return l;
    };
    CHECK(s.value("julier_health_check_failures_total", with(b2, "timeout")) == 2);
    CHECK(s.value("julier_health_check_failures_total", with(b2, "status")) == 1);
    CHECK(s.value("julier_health_check_failures_total",
                  {{"service", "web"}, {"backend", "198.18.1.1"}, {"reason", "other"}}) == 1);
    CHECK(s.all("julier_health_check_failures_total").size() == 3);
}

TEST_CASE("metrics: configuration loads and reloads", "[metrics]") {
    Metrics metrics;
    testing::MetricsServer http("127.0.0.1:0", metrics);

    auto s = scrape(http);
    CHECK(s.value("julier_config_reloads_total", {{"result", "success"}}) == 0);
    CHECK(s.value("julier_config_reloads_total", {{"result", "failure"}}) == 0);
    CHECK_FALSE(s.find("julier_config_last_reload_success_timestamp_seconds"));

    const double before = unix_now();
    metrics.lifecycle().config_loaded(1);
    const double after = unix_now();
    s = scrape(http);
    CHECK(s.value("julier_config_generation") == 1);
    CHECK(s.value("julier_config_last_reload_successful") == 1);
    const double loaded_at = s.value("julier_config_last_reload_success_timestamp_seconds");
    CHECK(loaded_at >= Approx(before).margin(0.001));
    CHECK(loaded_at <= Approx(after).margin(0.001));
    CHECK(s.value("julier_config_reloads_total", {{"result", "success"}}) == 0);

    metrics.lifecycle().reload_failed();
    s = scrape(http);
    CHECK(s.value("julier_config_reloads_total", {{"result", "failure"}}) == 1);
    CHECK(s.value("julier_config_last_reload_successful") == 0);
    CHECK(s.value("julier_config_generation") == 1);
    CHECK(s.value("julier_config_last_reload_success_timestamp_seconds") == loaded_at);

    metrics.lifecycle().reload_succeeded(2);
    s = scrape(http);
    CHECK(s.value("julier_config_reloads_total", {{"result", "success"}}) == 1);
    CHECK(s.value("julier_config_reloads_total", {{"result", "failure"}}) == 1);
    CHECK(s.value("julier_config_last_reload_successful") == 1);
    CHECK(s.value("julier_config_generation") == 2);
    CHECK(s.value("julier_config_last_reload_success_timestamp_seconds") >= loaded_at);
}

TEST_CASE("metrics: interfaces attached, re-attached, and dropped from the catalogue", "[metrics]") {
    Metrics metrics;
    testing::MetricsServer http("127.0.0.1:0", metrics);
    CHECK_FALSE(scrape(http).find("julier_interface_attached", {{"interface", "eth0"}}));

    metrics.lifecycle().interface_state("eth0", true, 0);
    metrics.lifecycle().interface_state("eth1", false, 0);
    auto s = scrape(http);
    CHECK(s.value("julier_interface_attached", {{"interface", "eth0"}}) == 1);
    CHECK(s.value("julier_interface_attached", {{"interface", "eth1"}}) == 0);
    CHECK(s.value("julier_interface_reattaches_total", {{"interface", "eth1"}}) == 0);

    metrics.lifecycle().interface_state("eth1", true, 1);
    metrics.lifecycle().forget_interfaces_except({"eth1"});
    s = scrape(http);
    CHECK(s.value("julier_interface_attached", {{"interface", "eth1"}}) == 1);
    CHECK(s.value("julier_interface_reattaches_total", {{"interface", "eth1"}}) == 1);
    CHECK_FALSE(s.find("julier_interface_attached", {{"interface", "eth0"}}));
}

TEST_CASE("metrics: build info and start time", "[metrics]") {
    const double before = unix_now();
    Metrics metrics;
    const double after = unix_now();
    testing::MetricsServer http("127.0.0.1:0", metrics);
    const auto s = scrape(http);

    const auto info = s.all("julier_build_info");
    REQUIRE(info.size() == 1);
    CHECK(info[0]->value == 1);
    CHECK(info[0]->labels.at("version") == std::string(build_version()));
    CHECK(info[0]->labels.at("version").find('.') != std::string::npos);
    const double started = s.value("julier_start_time_seconds");
    CHECK(started >= Approx(before).margin(0.001));
    CHECK(started <= Approx(after).margin(0.001));
}

TEST_CASE("metrics: a failing counter read leaves the rest of the scrape intact", "[metrics]") {
    bool fail = true;
    Metrics metrics([&fail]() -> ForwarderReading {
        if (fail) throw std::runtime_error("map jl_counters: lookup failed");
        return reading();
    });
    metrics.publish(two_services());
    testing::MetricsServer http("127.0.0.1:0", metrics);

    auto s = scrape(http);
    CHECK(s.all("julier_forwarder_packets_total").empty());
    CHECK(s.all("julier_service_packets_total").empty());
    CHECK_FALSE(s.find("julier_dataplane_generation"));
    CHECK(s.value("julier_forwarder_read_errors_total") == 1);
    CHECK(s.value("julier_backend_up", backend("web", "198.18.1.1")) == 1);
    CHECK(s.value("julier_build_info", {{"version", std::string(build_version())}}) == 1);

    fail = false;
    s = scrape(http);
    CHECK(s.value("julier_forwarder_read_errors_total") == 1);
    CHECK(s.value("julier_dataplane_generation") == 42);
}

TEST_CASE("metrics: without a forwarder only state and process metrics appear", "[metrics]") {
    Metrics metrics;
    testing::MetricsServer http("127.0.0.1:0", metrics);
    auto s = scrape(http);
    CHECK(s.all("julier_forwarder_packets_total").empty());
    CHECK(s.all("julier_backend_up").empty());
    CHECK(s.value("julier_forwarder_read_errors_total") == 0);

    metrics.set_forwarder_reader([] { return reading(); });
    s = scrape(http);
    CHECK(s.all("julier_forwarder_packets_total").size() == JL_CNT_COUNT);
    // Without a published plan there are no names for service and backend ids.
    CHECK(s.all("julier_service_packets_total").empty());
}

TEST_CASE("metrics: promtool finds no problem in a full scrape", "[metrics]") {
    Metrics metrics([] { return reading(); });
    metrics.publish(two_services());
    metrics.lifecycle().config_loaded(3);
    metrics.lifecycle().reload_failed();
    metrics.probes().record_probe({.service = "web",
                                   .backend = "198.18.1.2",
                                   .kind = "tcp",
                                   .duration = std::chrono::milliseconds(7),
                                   .failure = "refused"});
    testing::MetricsServer http("127.0.0.1:0", metrics);
    const auto s = scrape(http);

    const auto check = promtool_check(s.text);
    INFO("promtool check metrics said:\n" << check.output << "\non:\n" << s.text);
    CHECK(check.exit_code == 0);
    CHECK(check.output.empty());

    // The HTTP body is what render() gives, and nothing else.
    CHECK(s.text == metrics.render());
}

TEST_CASE("metrics: every listed metric is exported with help and type, and no other", "[metrics]") {
    Metrics metrics([] { return reading(); });
    metrics.publish(two_services());
    metrics.lifecycle().config_loaded(1);
    metrics.probes().record_probe({.service = "web",
                                   .backend = "198.18.1.1",
                                   .kind = "tcp",
                                   .duration = std::chrono::milliseconds(1),
                                   .failure = "refused"});
    testing::MetricsServer http("127.0.0.1:0", metrics);
    const auto s = scrape(http);

    std::set<std::string> listed;
    for (const auto* m : all_metrics) {
        const std::string name(m->name);
        listed.insert(name);
        INFO(name);
        CHECK(s.text.find("# HELP " + name + " ") != std::string::npos);
        CHECK(s.text.find("# TYPE " + name + " ") != std::string::npos);
    }
    for (const auto& sample : s.samples) {
        CHECK(sample.name.rfind("julier_", 0) == 0);  // the HTTP server adds no metrics of its own
        std::string family = sample.name;
        for (const char* suffix : {"_bucket", "_sum", "_count"})
            if (!listed.count(family) && family.ends_with(suffix))
                family.resize(family.size() - std::string(suffix).size());
        INFO(sample.name);
        CHECK(listed.count(family) == 1);
    }
}

TEST_CASE("metrics: listen addresses that cannot be served are refused clearly", "[metrics]") {
    Metrics metrics;
    for (const char* bad :
         {"127.0.0.1", "localhost:9641", "127.0.0.1:99999", "127.0.0.1:x", "[127.0.0.1]:9641", "::1:9641"}) {
        INFO(bad);
        CHECK_THROWS_WITH(testing::MetricsServer(bad, metrics),
                          Catch::Contains("invalid listen address") && Catch::Contains(bad));
    }

    // A port something else listens on.
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(listen(fd, 1) == 0);
    socklen_t length = sizeof(addr);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
    const std::string busy = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    CHECK_THROWS_WITH(testing::MetricsServer(busy, metrics),
                      Catch::Contains("cannot listen on " + busy) && Catch::Contains("Address already in use"));
    close(fd);

    // An address this host does not have (benchmarking range, used only inside test namespaces).
    CHECK_THROWS_WITH(testing::MetricsServer("198.19.255.254:9641", metrics),
                      Catch::Contains("Cannot assign requested address"));
}

TEST_CASE("metrics: scrapes run while plans are published and probes recorded", "[metrics]") {
    Metrics metrics([] { return reading(); });
    testing::MetricsServer http("127.0.0.1:0", metrics);
    const auto full = two_services();
    auto reduced = full;
    reduced.services[0].backends.pop_back();

    std::atomic<bool> done{false};
    std::atomic<int> scrapes{0};
    std::vector<std::string> problems;
    std::mutex problems_mutex;
    auto scraper = [&] {
        while (!done) {
            const auto response = fetch(http.port(), "/metrics");
            std::string problem;
            if (!response || response->status != 200) {
                problem = "a scrape failed";
            } else {
                // Each scrape sees one whole table: 3 backends, 2, or none yet.
                std::size_t n = 0;
                for (auto at = response->body.find("\njulier_backend_up{"); at != std::string::npos;
                     at = response->body.find("\njulier_backend_up{", at + 1))
                    ++n;
                if (n != 3 && n != 2 && n != 0) problem = "saw " + std::to_string(n) + " backends";
            }
            if (!problem.empty()) {
                std::lock_guard lock(problems_mutex);
                problems.push_back(problem);
            }
            ++scrapes;
        }
    };
    std::thread a(scraper), b(scraper);
    for (int i = 0; i < 400; ++i) {
        metrics.publish(i % 2 ? reduced : full);
        metrics.probes().record_probe({.service = "web",
                                       .backend = "198.18.1.2",
                                       .kind = "tcp",
                                       .duration = std::chrono::microseconds(i),
                                       .failure = "timeout"});
        if (i % 100 == 0) metrics.set_forwarder_reader([] { return reading(); });
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    done = true;
    a.join();
    b.join();
    CHECK(problems == std::vector<std::string>{});
    CHECK(scrapes > 2);
}
