// BIRD's side: the include file julierd writes, and the replies it reads.
#include <catch2/catch.hpp>

#include "fleet/bird_config.h"
#include "fleet/bird_reply.h"

using namespace julier;

namespace {

common::IpAddress ip(const char* text) { return *common::IpAddress::parse(text); }

fleet::VipHealth vip(const char* address) {
    fleet::VipHealth v;
    v.vip = ip(address);
    v.healthy = true;
    return v;
}

config::Bgp two_neighbours() {
    config::Bgp b;
    b.local_as = 65001;
    b.router_id = ip("198.18.0.2");
    config::BgpNeighbour n1;
    n1.address = ip("198.18.0.1");
    n1.as = 65000;
    n1.hold_time = std::chrono::seconds(9);
    config::BgpNeighbour n2;
    n2.address = ip("2001:db8::1");
    n2.as = 65000;
    b.neighbours = {n1, n2};
    return b;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("bird include: one route per announced VIP, with its attributes, in its family's protocol", "[fleet]") {
    auto web = vip("198.19.0.1");
    web.med = 10;
    web.communities = {config::Community{{65000, 100}, "65000:100"}, config::Community{{65000, 1, 2}, "65000:1:2"}};
    const auto v6 = vip("2001:db8:1::1");
    const auto text = fleet::render_bird_include(two_neighbours(), {web, v6});
    INFO(text);
    CHECK(contains(text, "router id 198.18.0.2;\n"));
    const auto s4 = text.find("protocol static julier_vips4 {\n  ipv4;\n");
    const auto s6 = text.find("protocol static julier_vips6 {\n  ipv6;\n");
    REQUIRE(s4 != std::string::npos);
    REQUIRE(s6 != std::string::npos);
    const auto r4 = text.find(
        "  route 198.19.0.1/32 blackhole { bgp_med = 10; bgp_community.add((65000,100)); "
        "bgp_large_community.add((65000,1,2)); };\n");
    const auto r6 = text.find("  route 2001:db8:1::1/128 blackhole;\n");
    CHECK((r4 > s4 && r4 < s6));
    CHECK(r6 > s6);
}

TEST_CASE("bird include: neighbours export only julier's routes, with their timers", "[fleet]") {
    const auto text = fleet::render_bird_include(two_neighbours(), {});
    INFO(text);
    CHECK(contains(text,
                   "protocol bgp julier_n1 {\n  local as 65001;\n  neighbor 198.18.0.1 as 65000;\n"
                   "  hold time 9;\n  keepalive time 3;\n"));
    CHECK(contains(text, "  ipv4 { import none; export where proto = \"julier_vips4\"; next hop self; };\n"));
    CHECK(contains(text, "protocol bgp julier_n2 {\n  local as 65001;\n  neighbor 2001:db8::1 as 65000;\n  ipv6 {"));
    CHECK(contains(text, "export where proto = \"julier_vips6\""));
    CHECK_FALSE(contains(text, "route "));
}

TEST_CASE("bird include: without neighbours or router id only the static protocols", "[fleet]") {
    const auto text = fleet::render_bird_include(config::Bgp{}, {vip("198.19.0.1")});
    CHECK_FALSE(contains(text, "router id"));
    CHECK_FALSE(contains(text, "protocol bgp"));
    CHECK(contains(text, "route 198.19.0.1/32 blackhole;"));
}

TEST_CASE("bird reply: lines, continuations, the final line and errors", "[fleet]") {
    fleet::ReplyReader r;
    r.feed("2002-Name       Proto      Table      State  Since         Info\n1002-device1    Device  ");
    CHECK_FALSE(r.done());
    r.feed(
        "   ---        up     17:49:03.951  \n julier_n1  BGP        ---        up     17:49:04.120  "
        "Established   \n julier_n2  BGP        ---        start  2026-11-25 17:49:03  Active        "
        "Socket: Connection refused\n0000 \n1002-ignored after the end\n");
    REQUIRE(r.done());
    CHECK_FALSE(r.error());
    const auto rows = fleet::parse_protocols(r.lines());
    REQUIRE(rows.size() == 3);
    CHECK(rows[0] == fleet::ProtocolRow{"device1", "Device", "up", ""});
    CHECK(rows[1] == fleet::ProtocolRow{"julier_n1", "BGP", "up", "Established"});
    CHECK(rows[2] == fleet::ProtocolRow{"julier_n2", "BGP", "start", "Active        Socket: Connection refused"});

    fleet::ReplyReader bad;
    bad.feed("0002-Reading configuration from /etc/bird/bird.conf\n8002 /etc/bird/x.conf:3:1 syntax error\n");
    REQUIRE(bad.done());
    CHECK(bad.error() == std::optional<std::string>("/etc/bird/x.conf:3:1 syntax error"));
}
