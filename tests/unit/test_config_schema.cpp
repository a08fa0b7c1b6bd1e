// The schema table (config/schema.h) is the one declaration of the catalogue's
// fields: the parser enforces its bounds, the built-in defaults are its defaults,
// and config/README.md's field reference is generated from it.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "config/limits.h"
#include "config/schema.h"
#include "config_test_support.h"

using namespace julier::config;
using julier::config::testing::lines;
using julier::config::testing::only;
using julier::config::testing::parse;
namespace schema = julier::config::schema;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A catalogue with `value` written as `key` of a mapping of `section`, and the
// field path a finding about it names. Sections that `defaults` may set are
// written there.
struct Placed {
    std::string text;
    std::string field;
};

std::optional<Placed> place(schema::Section section, std::string_view key, const std::string& value) {
    const std::string k(key);
    const std::string service = "services:\n  - {name: web, vip: 198.19.0.1, port: 80, backends: [198.18.0.20]}\n";
    const std::string head = "interfaces: [eth0]\n";
    switch (section) {
        case schema::Section::limits:
            return Placed{head + "limits:\n  " + k + ": " + value + "\n" + service, "limits." + k};
        case schema::Section::flood_protection:
            return Placed{head + "flood_protection:\n  " + k + ": " + value + "\n" + service, "flood_protection." + k};
        case schema::Section::icmp_answers:
            return Placed{head + "icmp_answers:\n  " + k + ": " + value + "\n" + service, "icmp_answers." + k};
        case schema::Section::service:
            if (k == "port") return std::nullopt;  // required, read per service
            return Placed{head + "defaults:\n  " + k + ": " + value + "\n" + service, "defaults." + k};
        case schema::Section::health:
            return Placed{head + "defaults:\n  health:\n    " + k + ": " + value + "\n" + service,
                          "defaults.health." + k};
        case schema::Section::encap_source:
            return Placed{head + "defaults:\n  encap_source:\n    " + k + ": " + value + "\n" + service,
                          "defaults.encap_source." + k};
        case schema::Section::service_bgp:
            return Placed{head + "defaults:\n  bgp:\n    " + k + ": " + value + "\n" + service, "defaults.bgp." + k};
        case schema::Section::backend:
            return Placed{head +
                              "services:\n  - name: web\n    vip: 198.19.0.1\n    port: 80\n    backends:\n"
                              "      - {address: 198.18.0.20, " +
                              k + ": " + value + "}\n",
                          "services[0].backends[0]." + k};
        default: return std::nullopt;
    }
}

}  // namespace

TEST_CASE("config/README.md's field reference is the one generated from the schema", "[config][schema]") {
    const std::string path = std::string(JULIER_SOURCE_DIR) + "/config/README.md";
    const std::string readme = read_file(path);
    for (const auto& table : schema::reference_tables()) {
        INFO(table.name);
        CHECK(readme.find("<!-- reference:" + table.name + " -->\n") != std::string::npos);
    }
    INFO("config/README.md is stale: run `make config-reference` (or build the config-reference target)");
    CHECK(schema::refresh_reference(readme) == readme);
}

TEST_CASE("refresh_reference replaces only the marked tables", "[config][schema]") {
    const std::string stale = "intro\n<!-- reference:limits -->\n| old |\n<!-- /reference:limits -->\noutro\n";
    const std::string fresh = schema::refresh_reference(stale);
    CHECK(fresh.starts_with("intro\n<!-- reference:limits -->\n| Key | Type | Default | Allowed | Meaning |\n"));
    CHECK(fresh.find("| `max_flows` | integer | 1048576 | 1-1073741824 |") != std::string::npos);
    CHECK(fresh.ends_with("<!-- /reference:limits -->\noutro\n"));
    CHECK(fresh.find("| old |") == std::string::npos);
}

TEST_CASE("the parser enforces each integer bound of the schema", "[config][schema]") {
    std::size_t checked = 0;
    for (const schema::Field& f : schema::fields) {
        if (f.type != schema::Type::integer) continue;
        for (const std::uint64_t bad : {f.max + 1, f.min == 0 ? f.max + 2 : f.min - 1}) {
            auto placed = place(f.section, f.key, std::to_string(bad));
            if (!placed) continue;
            INFO(placed->text);
            const auto r = parse(placed->text);
            const Diagnostic d = only(r, placed->field);
            CHECK(d.severity == Severity::error);
            CHECK(d.message == std::to_string(bad) + " is out of range (allowed: " + std::to_string(f.min) + "-" +
                                   std::to_string(f.max) + ")");
            ++checked;
        }
        // And the bounds themselves are accepted as far as this field goes.
        for (const std::uint64_t good : {f.min, f.max}) {
            auto placed = place(f.section, f.key, std::to_string(good));
            if (!placed) continue;
            INFO(placed->text);
            const auto r = parse(placed->text);
            for (const Diagnostic& d : r.diagnostics) CHECK_THAT(d.message, !Catch::Contains("out of range"));
        }
    }
    CHECK(checked >= 30);  // limits, flood protection, service, health, encap, bgp, backend integers
}

TEST_CASE("the built-in defaults are the schema's", "[config][schema]") {
    const auto r = parse(lines({"interfaces: [eth0]", "bgp: {}",
                                "services:", "  - {name: web, vip: 198.19.0.1, port: 80, backends: [198.18.0.20]}"}));
    REQUIRE(r.ok());
    const Catalogue& c = *r.catalogue;
    const Service& s = c.services[0];
    // Numbers and enums are initialised from the table (catalogue.h); spot-check a few.
    CHECK(s.health.rise == schema::fallback(schema::Section::health, "rise"));
    CHECK(s.health.interval.count() == 2000);
    CHECK(s.ring_size == JL_DEFAULT_RING_SIZE);
    CHECK(s.backends[0].weight == 100);
    CHECK(to_string(s.hash) == "5tuple");
    CHECK(c.limits == Limits{});
    // Strings are written in the table as the reference shows them.
    const auto quoted = [](const std::string& v) { return "`" + v + "`"; };
    CHECK(quoted(c.pin_dir) == schema::field(schema::Section::top, "pin_dir").default_text);
    CHECK(quoted(c.control_socket) == schema::field(schema::Section::top, "control_socket").default_text);
    CHECK(quoted(c.metrics.listen()) == schema::field(schema::Section::metrics, "listen").default_text);
    CHECK(quoted(c.bgp->bird_include) == schema::field(schema::Section::bgp, "bird_include").default_text);
    CHECK(quoted(c.bgp->bird_socket) == schema::field(schema::Section::bgp, "bird_socket").default_text);
    CHECK(quoted(s.health.http.path) == schema::field(schema::Section::http, "path").default_text);
    CHECK(quoted(s.health.dns.name) == schema::field(schema::Section::dns, "name").default_text);
    CHECK(quoted(s.health.http.verify_tls ? "true" : "false") ==
          schema::field(schema::Section::http, "verify_tls").default_text);
}

TEST_CASE("every key the table declares is read where it is declared", "[config][schema]") {
    // A key outside its section is unknown, with the section's keys listed.
    const auto r = parse(lines({"interfaces: [eth0]", "limits: {max_service: 3}", "services: []"}));
    CHECK(only(r, "limits.max_service").message == "unknown key 'max_service' (did you mean 'max_services'?)");
    const auto keys = schema::keys(schema::Section::limits);
    CHECK(keys == std::vector<std::string_view>{"max_services", "max_backends", "ring_capacity", "max_flows"});
    CHECK(schema::keys_without(schema::Section::service, schema::defaultable) ==
          std::vector<std::string_view>{"name", "vip", "port", "protocol", "backends"});
}

TEST_CASE("limits: the one rule that a catalogue fits them", "[config][schema]") {
    Limits l;
    l.max_services = 2;
    l.max_backends = 3;
    l.ring_capacity = 10;
    const auto none = exceeded(LimitUse{2, 3, 10}, l);
    CHECK(none.empty());
    const auto all = exceeded(LimitUse{3, 1, 11}, l);
    REQUIRE(all.size() == 2);
    CHECK(all[0].key == "max_services");
    // Each names the fix and what it costs: one more ring slot is one more 8-byte
    // array value on each of the two sides.
    CHECK_THAT(all[0].message, Catch::StartsWith("3 services are defined, more than max_services 2; set "
                                                 "limits.max_services to at least 3 (") &&
                                   Catch::EndsWith(" more BPF map memory; a restart applies it, a reload does not)"));
    CHECK(all[1].key == "ring_capacity");
    CHECK(all[1].message ==
          "the services' rings need 11 slots, more than ring_capacity 10; set limits.ring_capacity to at least 11 "
          "(16 B more BPF map memory; a restart applies it, a reload does not), or give services a smaller "
          "ring_size");
    // Beyond what a limit can be, the fix is elsewhere.
    const auto huge = exceeded(LimitUse{1, 1, (1ull << 30) + 1}, l);
    REQUIRE(huge.size() == 1);
    CHECK_THAT(huge[0].message, Catch::Contains("; limits.ring_capacity can be at most 1073741824, or give services "
                                                "a smaller ring_size"));
    CHECK(within_bounds(Limits{}));
    l.max_flows = 0;
    CHECK_FALSE(within_bounds(l));
    l.max_flows = 1;
    l.max_backends = (1u << 24) + 1;
    CHECK_FALSE(within_bounds(l));
}
