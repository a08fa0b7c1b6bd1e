// `julierctl top`: rates from two readings and the screen they make.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "cli/top_model.h"

using namespace julier::cli::top;
namespace protocol = julier::daemon::protocol;
using State = julier::health::State;
using Role = julier::plan::BackendRole;

namespace {

protocol::ServiceInfo service(const std::string& name, std::uint64_t packets, std::uint64_t bytes,
                              std::uint64_t new_flows) {
    protocol::ServiceInfo s;
    s.name = name;
    s.vip = "198.19.0.1";
    s.port = name == "dns" ? 53 : 80;
    s.protocol = name == "dns" ? "udp" : "tcp";
    s.ring_size = 4099;
    s.backends = 2;
    s.backends_in_ring = 2;
    s.packets = packets;
    s.bytes = bytes;
    s.new_flows = new_flows;
    return s;
}

protocol::BackendInfo backend(const std::string& service, const std::string& address, std::uint64_t packets,
                              std::uint64_t bytes, std::uint64_t new_flows = 0) {
    return {service, address, 100, 100, State::up, "", Role::in_ring, "", "", packets, bytes, new_flows};
}

Sample sample(double seconds, std::vector<protocol::ServiceInfo> services,
              std::vector<protocol::BackendInfo> backends) {
    Sample s;
    s.seconds = seconds;
    s.clock = "12:00:00";
    s.status.version = "1.0.0";
    s.status.uptime_seconds = 75;
    s.status.config_generation = 3;
    s.status.dataplane_generation = 5;
    s.services = std::move(services);
    s.backends = std::move(backends);
    return s;
}

std::vector<std::string> names(const View& view) {
    std::vector<std::string> out;
    for (const auto& r : view.rows) out.push_back(r.backend ? "  " + r.name : r.name);
    return out;
}

}  // namespace

TEST_CASE("julierctl top: a rate is the counter's growth over the time between readings", "[cli][top]") {
    CHECK(rate(100, 300, 2.0) == Approx(100.0));
    CHECK(rate(0, 0, 1.0) == Approx(0.0));
    CHECK(rate(1000, 1500, 0.5) == Approx(1000.0));
    // A counter that went back (julierd made its counters anew) has no rate, and
    // neither has a reading without time between.
    CHECK_FALSE(rate(500, 100, 1.0).has_value());
    CHECK_FALSE(rate(100, 200, 0.0).has_value());
    CHECK_FALSE(rate(100, 200, -1.0).has_value());
}

TEST_CASE("julierctl top: rates in short units", "[cli][top]") {
    CHECK(format_rate(std::nullopt) == "-");
    CHECK(format_rate(0.0) == "0");
    CHECK(format_rate(0.5) == "0.5");
    CHECK(format_rate(9.94) == "9.9");
    CHECK(format_rate(9.96) == "10");
    CHECK(format_rate(12.4) == "12");
    CHECK(format_rate(999.0) == "999");
    CHECK(format_rate(999.6) == "1.0k");
    CHECK(format_rate(1234.0) == "1.2k");
    CHECK(format_rate(12345.0) == "12.3k");
    CHECK(format_rate(99960.0) == "100k");
    CHECK(format_rate(123456.0) == "123k");
    CHECK(format_rate(999600.0) == "1.0M");
    CHECK(format_rate(3.4e6) == "3.4M");
    CHECK(format_rate(2.5e9) == "2.5G");
    CHECK(format_rate(7e12) == "7.0T");
}

TEST_CASE("julierctl top: services and backends with their rates", "[cli][top]") {
    const auto before =
        sample(10.0, {service("web", 1000, 100000, 10)},
               {backend("web", "198.18.0.21", 600, 60000, 6), backend("web", "198.18.0.22", 400, 40000, 4)});
    auto after =
        sample(12.0, {service("web", 3000, 300000, 50)},
               {backend("web", "198.18.0.21", 2000, 200000, 36), backend("web", "198.18.0.22", 1000, 100000, 14)});
    after.backends[1].health = State::down;
    after.backends[1].state = Role::down;
    after.backends[1].weight_now = 0;
    const View view = make_view(&before, after, Sort::rate);

    REQUIRE(view.rows.size() == 3);
    const Row& web = view.rows[0];
    CHECK_FALSE(web.backend);
    CHECK(web.vip == "198.19.0.1:80/tcp");
    CHECK(*web.packets == Approx(1000.0));
    CHECK(*web.bytes == Approx(100000.0));
    CHECK(*web.new_flows == Approx(20.0));
    CHECK(web.health == "1/2 up");
    CHECK(web.state == "2/2 in ring");
    CHECK(*view.rows[1].packets == Approx(700.0));
    CHECK(*view.rows[2].packets == Approx(300.0));
    CHECK(*view.rows[1].new_flows == Approx(15.0));
    CHECK(*view.rows[2].new_flows == Approx(5.0));
    CHECK(view.rows[2].health == "down");
    CHECK(view.rows[2].weight == "0/100");
    CHECK(view.rows[2].state == "down");
    // No count of the connection table yet: no active flows shown.
    CHECK_FALSE(web.flows.has_value());

    REQUIRE(view.header.size() == 2);
    CHECK(view.header[0] == "julierd 1.0.0, up 1m15s, config generation 3, dataplane generation 5  12:00:00");
    CHECK(view.header[1] == "total: 1.0k packets/s, 100k bytes/s, 20 new flows/s, - active flows");
}

TEST_CASE("julierctl top: the first reading and a counter that went back have no rates", "[cli][top]") {
    const auto first = sample(1.0, {service("web", 5000, 500000, 50)}, {backend("web", "198.18.0.21", 5000, 500000)});
    const View alone = make_view(nullptr, first, Sort::rate);
    REQUIRE(alone.rows.size() == 2);
    CHECK_FALSE(alone.rows[0].packets.has_value());
    CHECK_FALSE(alone.rows[1].bytes.has_value());

    // julierd restarted without its pins: every counter starts from zero again.
    const auto restarted = sample(2.0, {service("web", 10, 1000, 1)}, {backend("web", "198.18.0.21", 10, 1000)});
    const View view = make_view(&first, restarted, Sort::rate);
    CHECK_FALSE(view.rows[0].packets.has_value());
    CHECK_FALSE(view.rows[0].new_flows.has_value());
    CHECK_FALSE(view.rows[1].packets.has_value());
    CHECK(view.header[1] == "total: - packets/s, - bytes/s, - new flows/s, - active flows");

    // A backend the earlier reading did not have (added by a reload) has none either.
    auto added = sample(3.0, {service("web", 20, 2000, 2)},
                        {backend("web", "198.18.0.21", 20, 2000), backend("web", "198.18.0.23", 5, 500)});
    const View grown = make_view(&restarted, added, Sort::catalogue);
    REQUIRE(grown.rows.size() == 3);
    CHECK(*grown.rows[1].packets == Approx(10.0));
    CHECK_FALSE(grown.rows[2].packets.has_value());
}

TEST_CASE("julierctl top: the busiest first, or as the catalogue has them", "[cli][top]") {
    const auto before = sample(0.0, {service("api", 0, 0, 0), service("dns", 0, 0, 0), service("web", 0, 0, 0)},
                               {backend("api", "198.18.0.21", 0, 0), backend("dns", "198.18.0.21", 0, 0),
                                backend("dns", "198.18.0.22", 0, 0), backend("web", "198.18.0.21", 0, 0)});
    const auto after = sample(1.0, {service("api", 10, 0, 0), service("dns", 500, 0, 0), service("web", 10, 0, 0)},
                              {backend("api", "198.18.0.21", 10, 0), backend("dns", "198.18.0.21", 100, 0),
                               backend("dns", "198.18.0.22", 400, 0), backend("web", "198.18.0.21", 10, 0)});
    CHECK(names(make_view(&before, after, Sort::rate)) ==
          std::vector<std::string>{"dns", "  198.18.0.22", "  198.18.0.21", "api", "  198.18.0.21", "web",
                                   "  198.18.0.21"});
    CHECK(names(make_view(&before, after, Sort::catalogue)) ==
          std::vector<std::string>{"api", "  198.18.0.21", "dns", "  198.18.0.21", "  198.18.0.22", "web",
                                   "  198.18.0.21"});
    const View dns = make_view(&before, after, Sort::rate, "dns");
    CHECK(names(dns) == std::vector<std::string>{"dns", "  198.18.0.22", "  198.18.0.21"});
    CHECK(dns.header[1] == "dns: 500 packets/s, 0 bytes/s, 0 new flows/s, - active flows");
}

TEST_CASE("julierctl top: active flows from the last count of the connection table", "[cli][top]") {
    const auto before = sample(10.0, {service("web", 0, 0, 0)},
                               {backend("web", "198.18.0.21", 0, 0), backend("web", "198.18.0.22", 0, 0)});
    auto after = sample(11.0, {service("web", 0, 0, 0)},
                        {backend("web", "198.18.0.21", 0, 0), backend("web", "198.18.0.22", 0, 0)});
    protocol::FlowsResult flows;
    flows.services = {{"web", "198.19.0.1", 80, "tcp", 12}};
    flows.backends = {{"web", "198.18.0.21", Role::in_ring, 12}};
    after.flows = flows;
    after.flows_seconds = 11.0;
    View view = make_view(&before, after, Sort::catalogue);
    CHECK(*view.rows[0].flows == 12);
    CHECK(*view.rows[1].flows == 12);
    CHECK(*view.rows[2].flows == 0);  // counted, none there
    CHECK(view.header[1] == "total: 0 packets/s, 0 bytes/s, 0 new flows/s, 12 active flows");
    after.seconds = 41.0;  // the count is older than the rates
    view = make_view(&before, after, Sort::catalogue);
    CHECK(view.header[1] == "total: 0 packets/s, 0 bytes/s, 0 new flows/s, 12 active flows (counted 30s ago)");
}

TEST_CASE("julierctl top: the screen fits the terminal", "[cli][top]") {
    const auto before = sample(0.0, {service("web", 0, 0, 0)},
                               {backend("web", "198.18.0.21", 0, 0), backend("web", "198.18.0.22", 0, 0)});
    auto after = sample(1.0, {service("web", 1500, 2000000, 7)},
                        {backend("web", "198.18.0.21", 1000, 1500000), backend("web", "198.18.0.22", 500, 500000)});
    const View view = make_view(&before, after, Sort::rate);
    const auto lines = render(view);
    REQUIRE(lines.size() == 7);
    CHECK(lines[2] == "");
    CHECK(lines[3] == "SERVICE/BACKEND  VIP                PACKETS/S  BYTES/S  NEW/S  FLOWS  HEALTH   WEIGHT  STATE");
    CHECK(lines[4] ==
          "web              198.19.0.1:80/tcp       1.5k     2.0M    7.0      -  2/2 up           2/2 in ring");
    CHECK(lines[5] == "  198.18.0.21                            1.0k     1.5M      0      -  up      100/100  active");
    CHECK(lines[6] == "  198.18.0.22                             500     500k      0      -  up      100/100  active");

    const auto narrow = render(view, 20, 0);
    REQUIRE(narrow.size() == 7);
    for (const auto& line : narrow) CHECK(line.size() <= 20);
    CHECK(narrow[4] == "web              198");

    const auto short_screen = render(view, 0, 5);
    REQUIRE(short_screen.size() == 5);
    CHECK(short_screen[3].rfind("SERVICE/BACKEND", 0) == 0);
    CHECK(short_screen[4] == "... 3 more rows (a taller terminal or --service shows them)");
}
