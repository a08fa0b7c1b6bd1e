// The small pieces under the catalogue parser: durations, suggestions,
// enum spellings, diagnostics text, field origins.
#include <catch2/catch.hpp>

#include "config/catalogue.h"
#include "config/diagnostic.h"
#include "config/duration.h"
#include "config/field_index.h"
#include "config/suggest.h"

using namespace julier::config;
using namespace std::chrono_literals;

TEST_CASE("durations: units, sums and refusals", "[config]") {
    CHECK(parse_duration("500ms") == 500ms);
    CHECK(parse_duration("2s") == 2000ms);
    CHECK(parse_duration("1m") == 60000ms);
    CHECK(parse_duration("1h") == 3600000ms);
    CHECK(parse_duration("1m30s") == 90000ms);
    CHECK(parse_duration("1s250ms") == 1250ms);
    CHECK(parse_duration("0") == 0ms);
    CHECK(parse_duration("0s") == 0ms);
    for (const char* bad : {"", "2", "1.5s", "-1s", "s", "2 s", "2sec", "1d", "99999999999999999999s", "169h"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad));
    }
}

TEST_CASE("durations print in their shortest exact form", "[config]") {
    CHECK(format_duration(0ms) == "0s");
    CHECK(format_duration(1500ms) == "1500ms");
    CHECK(format_duration(2000ms) == "2s");
    CHECK(format_duration(90000ms) == "1m30s");
    CHECK(format_duration(3600000ms) == "1h");
}

TEST_CASE("edit distance and suggestions", "[config]") {
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("port", "port") == 0);
    CHECK(edit_distance("prot", "port") == 1);  // one swap of neighbours
    CHECK(edit_distance("kitten", "sitting") == 3);
    const std::vector<std::string_view> keys = {"name", "vip", "port", "protocol", "backends"};
    CHECK(closest_match("prot", keys) == "port");
    CHECK(closest_match("Backends", keys) == "backends");
    CHECK(closest_match("backend", keys) == "backends");
    CHECK(closest_match("x", keys) == std::nullopt);
    CHECK(closest_match("weight", keys) == std::nullopt);
}

TEST_CASE("enum spellings", "[config]") {
    CHECK(to_string(HashMode::five_tuple) == "5tuple");
    CHECK(to_string(Forwarding::ip4in6) == "ip4in6");
    CHECK(to_string(HealthKind::https) == "https");
    CHECK(to_string(BackendState::drain) == "drain");
    CHECK(to_string(WhenAllDown::keep) == "keep");
    CHECK(to_string(XdpMode::generic) == "generic");
    CHECK(ip_protocol_number(Protocol::tcp) == 6);
    CHECK(ip_protocol_number(Protocol::udp) == 17);
}

TEST_CASE("diagnostics: text form, counting, sorting and de-duplication", "[config]") {
    Diagnostic w{Severity::warning, {"j.yaml", 9, 3}, "services[0].backends", "no backends"};
    Diagnostic e{Severity::error, {"j.yaml", 2, 1}, "", "bad"};
    Diagnostic f{Severity::error, {"j.yaml", 0, 0}, "", "cannot read"};
    CHECK(w.to_string() == "j.yaml:9:3: warning: services[0].backends: no backends");
    CHECK(e.to_string() == "j.yaml:2:1: error: bad");
    std::vector<Diagnostic> all = {w, e, w, f};
    sort_and_deduplicate(all);
    REQUIRE(all.size() == 3);
    CHECK(all[0] == f);
    CHECK(all[1] == e);
    CHECK(all[2] == w);
    CHECK(count(all, Severity::error) == 2);
    CHECK(count(all, Severity::warning) == 1);
}

TEST_CASE("field index: origins, enclosing items and invalid fields", "[config]") {
    FieldIndex index;
    index.record("services[0]", {"f", 3, 5}, "services[0]");
    index.record("services[0].mtu", {"f", 2, 8}, "defaults.mtu");
    index.record("services[0].health", {"f", 4, 3}, "defaults.health");
    index.mark_invalid("services[0].backends[1].address");

    CHECK(index.find("services[0].mtu").path == "defaults.mtu");
    CHECK(index.find("services[0].mtu").location.line == 2);
    CHECK(index.find("services[0].health.port").path == "defaults.health.port");
    CHECK(index.find("services[0].ring_size").path == "services[0].ring_size");
    CHECK(index.find("services[0].ring_size").location.line == 3);
    CHECK(index.find("limits.max_flows", {"f", 0, 0}).location.line == 0);

    CHECK_FALSE(index.valid("services[0].backends[1].address"));
    CHECK_FALSE(index.valid("services[0].backends[1]"));
    CHECK_FALSE(index.valid("services[0]"));
    CHECK(index.valid("services[0].backends[10]"));
    CHECK(index.valid("services[0].mtu"));
    CHECK(index.valid("services[1]"));
    CHECK_FALSE(index.written_in_service("services[0].mtu"));
    CHECK(index.written_in_service("services[0]"));
    CHECK(parent_path("services[2].backends[0].weight") == "services[2].backends[0]");
    CHECK(parent_path("services[2]") == "services");
    CHECK(parent_path("services") == "");
}
