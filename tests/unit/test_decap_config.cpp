// julier-decap's configuration: what it takes, and every refusal located at the
// value (file:line:col), naming the field, the bad value and what is allowed.
#include <catch2/catch.hpp>

#include <string>

#include "decap/config.h"
#include "julier/abi.h"

using julier::common::IpAddress;
using julier::config::Diagnostic;
using julier::config::Severity;
using julier::decap::ParseResult;
using julier::decap::SourcePrefix;

namespace {

ParseResult parse(const std::string& text) { return julier::decap::parse_config_text(text, "decap.yaml"); }

std::string all_text(const ParseResult& r) {
    std::string out;
    for (const Diagnostic& d : r.diagnostics) out += d.to_string() + "\n";
    return out;
}

// The only diagnostic about `field`, at decap.yaml:line:column, with this severity.
Diagnostic expect_at(const ParseResult& r, const std::string& field, int line, int column,
                     Severity severity = Severity::error) {
    INFO("diagnostics:\n" << all_text(r));
    const Diagnostic* found = nullptr;
    int n = 0;
    for (const Diagnostic& d : r.diagnostics)
        if (d.field == field) {
            found = &d;
            ++n;
        }
    REQUIRE(n == 1);
    INFO(found->to_string());
    CHECK(found->severity == severity);
    CHECK(found->location.file == "decap.yaml");
    CHECK(found->location.line == line);
    CHECK(found->location.column == column);
    return *found;
}

const std::string kGood =
    "interface: eth0\n"                                // 1
    "xdp_mode: generic\n"                              // 2
    "gue_port: 7777\n"                                 // 3
    "allowed_sources:\n"                               // 4
    "  - 198.18.0.0/28\n"                              // 5
    "  - 2001:db8::/124\n"                             // 6
    "  - 198.18.1.2\n"                                 // 7
    "local_addresses: [198.18.0.20, 2001:db8::20]\n";  // 8

// kGood with line `n` (1-based) replaced.
std::string with_line(int n, const std::string& line) {
    std::string out;
    int at = 1;
    std::size_t start = 0;
    while (start < kGood.size()) {
        std::size_t end = kGood.find('\n', start);
        out += (at == n ? line : kGood.substr(start, end - start)) + "\n";
        start = end + 1;
        ++at;
    }
    return out;
}

}  // namespace

TEST_CASE("decap config: a complete file", "[decap]") {
    ParseResult r = parse(kGood);
    INFO(all_text(r));
    REQUIRE(r.ok());
    CHECK(r.diagnostics.empty());
    const auto& c = *r.config;
    CHECK(c.interface == "eth0");
    CHECK(c.xdp_mode == julier::config::XdpMode::generic);
    CHECK(c.gue_port == 7777);
    CHECK(c.pin_dir == std::string(JL_DECAP_PIN_DIR) + "/eth0");
    REQUIRE(c.allowed_sources.size() == 3);
    std::vector<std::string> sources;
    for (const auto& p : c.allowed_sources) sources.push_back(p.to_string());
    CHECK(sources == std::vector<std::string>{"198.18.0.0/28", "198.18.1.2/32", "2001:db8::/124"});
    REQUIRE(c.local_addresses.size() == 2);
    CHECK(c.local_addresses[0].to_string() == "198.18.0.20");
    CHECK(c.local_addresses[1].to_string() == "2001:db8::20");
}

TEST_CASE("decap config: defaults", "[decap]") {
    ParseResult r = parse(
        "interface: ens3\nallowed_sources: [198.18.0.2]\nlocal_addresses: [198.18.0.20]\n"
        "pin_dir: /sys/fs/bpf/elsewhere\n");
    INFO(all_text(r));
    REQUIRE(r.ok());
    CHECK(r.config->xdp_mode == julier::config::XdpMode::native);
    CHECK(r.config->gue_port == JL_DEFAULT_GUE_PORT);
    CHECK(r.config->pin_dir == "/sys/fs/bpf/elsewhere");
}

TEST_CASE("decap config: an empty allowed-source or local-address list is refused", "[decap]") {
    SECTION("empty flow list") {
        ParseResult r = parse(with_line(8, "local_addresses: []"));
        CHECK_FALSE(r.ok());
        Diagnostic d = expect_at(r, "local_addresses", 8, 18);
        CHECK(d.message ==
              "is empty: list at least one address (allowed: 1-64 entries); with none the decapsulator "
              "strips no tunnel packet");
    }
    SECTION("empty value") {
        std::string text = "interface: eth0\nallowed_sources:\nlocal_addresses: [198.18.0.20]\n";
        ParseResult r = parse(text);
        CHECK_FALSE(r.ok());
        Diagnostic d = expect_at(r, "allowed_sources", 2, 1);
        CHECK(d.to_string().starts_with("decap.yaml:2:1: error: allowed_sources: is empty"));
    }
    SECTION("missing keys") {
        ParseResult r = parse("interface: eth0\n");
        CHECK_FALSE(r.ok());
        Diagnostic s = expect_at(r, "allowed_sources", 1, 1);
        CHECK(s.message.find("missing: list the balancers' encapsulation sources") == 0);
        Diagnostic l = expect_at(r, "local_addresses", 1, 1);
        CHECK(l.message.find("missing: list this host's addresses") == 0);
    }
}

TEST_CASE("decap config: bad sources are located and explained", "[decap]") {
    struct Case {
        const char* line;
        const char* message;
    };
    const Case cases[] = {
        {"  - 198.18.0.0/33",
         "'198.18.0.0/33' is not an address or prefix (allowed: an IPv4 or IPv6 address, optionally with /length, "
         "e.g. 198.18.0.0/28 or 2001:db8::/124)"},
        {"  - 198.18.0.5/28", "'198.18.0.5/28' has bits set after its /28 (did you mean 198.18.0.0/28?)"},
        {"  - 0.0.0.0/0",
         "'0.0.0.0/0' allows every source, which is what this list exists to prevent (allowed: "
         "prefix lengths 1-32)"},
        {"  - ::/0",
         "'::/0' allows every source, which is what this list exists to prevent (allowed: prefix "
         "lengths 1-128)"},
        {"  - 224.0.0.0/4", "'224.0.0.0/4' is no unicast source"},
        {"  - lb1.example",
         "'lb1.example' is not an address or prefix (allowed: an IPv4 or IPv6 address, "
         "optionally with /length, e.g. 198.18.0.0/28 or 2001:db8::/124)"},
        {"  - 198.18.0.0/", nullptr},
        {"  - 198.18.0.0/+8", nullptr},
        {"  - {address: 198.18.0.2}", "expected an address or prefix like 198.18.0.0/28, got a mapping"},
    };
    for (const Case& c : cases) {
        INFO(c.line);
        ParseResult r = parse(with_line(5, c.line));
        CHECK_FALSE(r.ok());
        Diagnostic d = expect_at(r, "allowed_sources[0]", 5, 5);
        if (c.message) CHECK(d.message == c.message);
    }
    SECTION("a prefix listed twice") {
        ParseResult r = parse(with_line(7, "  - 198.18.0.0/28"));
        Diagnostic d = expect_at(r, "allowed_sources[2]", 7, 5);
        CHECK(d.message == "198.18.0.0/28 is listed twice (first at decap.yaml:5:5)");
    }
    SECTION("not a list") {
        ParseResult r = parse("interface: eth0\nallowed_sources: 198.18.0.2\nlocal_addresses: [198.18.0.20]\n");
        Diagnostic d = expect_at(r, "allowed_sources", 2, 18);
        CHECK(d.message == "expected a list, got '198.18.0.2'");
    }
}

TEST_CASE("decap config: bad local addresses, interface, mode and port", "[decap]") {
    ParseResult r = parse(with_line(8, "local_addresses: [198.18.0.20, 198.18.0.0/24, 224.0.0.1, 198.18.0.20]"));
    CHECK_FALSE(r.ok());
    CHECK(expect_at(r, "local_addresses[1]", 8, 32).message ==
          "'198.18.0.0/24' is not an IP address (a single address, without a prefix length)");
    CHECK(expect_at(r, "local_addresses[2]", 8, 47).message == "'224.0.0.1' is not a unicast address");
    CHECK(expect_at(r, "local_addresses[3]", 8, 58).message ==
          "198.18.0.20 is listed twice (first at decap.yaml:8:19)");

    CHECK(expect_at(parse(with_line(1, "interface: eth0/1")), "interface", 1, 12).message ==
          "'eth0/1' is not a valid interface name (1-15 characters, no '/', ':' or blanks)");
    CHECK(expect_at(parse(with_line(2, "xdp_mode: driver")), "xdp_mode", 2, 11).message ==
          "'driver' is not one of: native, generic");
    CHECK(expect_at(parse(with_line(3, "gue_port: 0")), "gue_port", 3, 11).message ==
          "0 is out of range (allowed: 1-65535)");
    CHECK(expect_at(parse(with_line(3, "gue_prot: 6080")), "gue_prot", 3, 1).message ==
          "unknown key 'gue_prot' (did you mean 'gue_port'?)");
    CHECK(expect_at(parse(with_line(3, "pin_dir: bpf/decap")), "pin_dir", 3, 10).message ==
          "'bpf/decap' must be an absolute path without '..' or blanks");
    CHECK_FALSE(parse("interface: eth0\n").ok());
    CHECK_FALSE(parse("").ok());
    CHECK_FALSE(parse("- eth0\n").ok());
}

TEST_CASE("decap config: too many entries for the maps", "[decap]") {
    std::string text = "interface: eth0\nallowed_sources: [198.18.0.2]\nlocal_addresses: [";
    for (unsigned i = 0; i <= JL_DECAP_MAX_ADDRS; ++i) text += (i ? ", " : "") + ("198.18.1." + std::to_string(i + 1));
    ParseResult r = parse(text + "]\n");
    CHECK(expect_at(r, "local_addresses", 3, 18).message ==
          "65 entries, more than the decapsulator holds (allowed: 1-64)");
}

TEST_CASE("decap config: a local address of a family no source has is a warning", "[decap]") {
    ParseResult r = parse(
        "interface: eth0\nallowed_sources: [198.18.0.0/28]\nlocal_addresses:\n  - 198.18.0.20\n"
        "  - 2001:db8::20\n");
    REQUIRE(r.ok());
    CHECK(expect_at(r, "local_addresses[1]", 5, 5, Severity::warning).message ==
          "no allowed source is an IPv6 prefix: every tunnel packet to 2001:db8::20 will be dropped");
}

TEST_CASE("decap config: second-chance peers", "[decap]") {
    SECTION("off unless listed") {
        REQUIRE(parse(kGood).ok());
        CHECK(parse(kGood).config->second_chance_peers.empty());
        ParseResult empty = parse(kGood + "second_chance:\n  peers: []\n");
        INFO(all_text(empty));
        REQUIRE(empty.ok());
        CHECK(empty.config->second_chance_peers.empty());
        CHECK(parse(kGood + "second_chance: {}\n").ok());
    }
    SECTION("listed, sorted") {
        ParseResult r = parse(kGood + "second_chance:\n  peers: [2001:db8::/120, 198.18.0.16/28, 198.18.0.40]\n");
        INFO(all_text(r));
        REQUIRE(r.ok());
        std::vector<std::string> peers;
        for (const auto& p : r.config->second_chance_peers) peers.push_back(p.to_string());
        CHECK(peers == std::vector<std::string>{"198.18.0.16/28", "198.18.0.40/32", "2001:db8::/120"});
    }
    SECTION("refusals are located") {
        ParseResult r = parse(kGood +
                              "second_chance:\n  peers:\n    - 0.0.0.0/0\n    - 224.0.0.1\n"
                              "    - 198.18.0.17/28\n    - 198.18.0.40\n    - 198.18.0.40\n");
        CHECK_FALSE(r.ok());
        CHECK(expect_at(r, "second_chance.peers[0]", 11, 7).message ==
              "'0.0.0.0/0' would let any balancer's packet make this host send to any address (list the "
              "backends' prefixes) (allowed: prefix lengths 1-32)");
        CHECK(expect_at(r, "second_chance.peers[1]", 12, 7).message == "'224.0.0.1' is no unicast peer");
        CHECK(expect_at(r, "second_chance.peers[2]", 13, 7).message ==
              "'198.18.0.17/28' has bits set after its /28 (did you mean 198.18.0.16/28?)");
        CHECK(expect_at(r, "second_chance.peers[4]", 15, 7).message ==
              "198.18.0.40/32 is listed twice (first at decap.yaml:14:7)");
    }
    SECTION("unknown keys and shapes") {
        CHECK(expect_at(parse(kGood + "second_chance:\n  peer: [198.18.0.16/28]\n"), "second_chance.peer", 10, 3)
                  .message.starts_with("unknown key 'peer'"));
        CHECK_FALSE(parse(kGood + "second_chance: [198.18.0.16/28]\n").ok());
        CHECK_FALSE(parse(kGood + "second_chance:\n  peers: 198.18.0.16/28\n").ok());
    }
    SECTION("too many") {
        std::string text = kGood + "second_chance:\n  peers: [";
        for (unsigned i = 0; i <= JL_DECAP_MAX_PEERS; ++i)
            text += (i ? ", " : "") + ("198.18." + std::to_string(2 + i / 256) + "." + std::to_string(i % 256));
        CHECK(expect_at(parse(text + "]\n"), "second_chance.peers", 10, 10).message ==
              "257 entries, more than the decapsulator holds (allowed: 0-256)");
    }
}

TEST_CASE("decap config: prefixes", "[decap]") {
    auto p = SourcePrefix::parse("198.18.0.0/15");
    REQUIRE(p);
    CHECK(p->length == 15);
    CHECK_FALSE(p->has_host_bits());
    CHECK(p->contains(*IpAddress::parse("198.19.255.255")));
    CHECK_FALSE(p->contains(*IpAddress::parse("198.20.0.0")));
    CHECK_FALSE(p->contains(*IpAddress::parse("2001:db8::")));
    CHECK(SourcePrefix::parse("2001:db8::7/124")->network().to_string() == "2001:db8::/124");
    CHECK(SourcePrefix::parse("2001:db8::1")->to_string() == "2001:db8::1/128");
    CHECK_FALSE(SourcePrefix::parse("2001:db8::/129"));
    CHECK_FALSE(SourcePrefix::parse("198.18.0.0/1000"));
    CHECK_FALSE(SourcePrefix::parse("198.18.0.0/ 8"));
}

TEST_CASE("decap config: the example file is valid", "[decap]") {
    ParseResult r = julier::decap::parse_config_file(JULIER_SOURCE_DIR "/config/examples/decap.yaml");
    INFO(all_text(r));
    CHECK(r.ok());
    CHECK(r.diagnostics.empty());
}
