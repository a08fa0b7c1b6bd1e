// `julierctl status` with a bgp section: the announcement of each VIP and the BGP
// sessions, over the control protocol and as text.
#include <catch2/catch.hpp>

#include "cli/render.h"
#include "daemon/protocol.h"

namespace protocol = julier::daemon::protocol;

namespace {

protocol::Status fleet_status() {
    protocol::Status s;
    s.version = "0.1.0";
    s.bgp = true;
    s.announcements = {{"198.19.0.1", "announced", 3, 1, 75, 0, {"web", "api"}},
                       {"198.19.0.2", "hold-down", 2, 2, 4, 26, {"dns"}}};
    s.bgp_sessions = {{"julier_n1", "198.18.0.1", "Established"}};
    return s;
}

}  // namespace

TEST_CASE("fleet status: announcements and sessions survive the control protocol", "[fleet]") {
    const auto s = fleet_status();
    const auto back = protocol::decode_response(protocol::encode_response(protocol::success(s)));
    REQUIRE(back.ok);
    const auto got = back.result.get<protocol::Status>();
    REQUIRE(got.announcements.size() == 2);
    CHECK(got.announcements[1].state == "hold-down");
    CHECK(got.announcements[1].announce_in_seconds == 26);
    CHECK(got.announcements[0].services == std::vector<std::string>{"web", "api"});
    REQUIRE(got.bgp_sessions.size() == 1);
    CHECK(got.bgp_sessions[0].neighbour == "198.18.0.1");
    CHECK(got.bgp);
}

TEST_CASE("fleet status: text lines per session and per VIP, none without bgp", "[fleet]") {
    auto s = fleet_status();
    const auto text = julier::cli::render_status(s);
    INFO(text);
    CHECK(text.find("bgp          julier_n1 198.18.0.1 Established\n") != std::string::npos);
    CHECK(text.find("vip          198.19.0.1 announced for 1m15s (3/1 healthy backends; web, api)\n") !=
          std::string::npos);
    CHECK(text.find("vip          198.19.0.2 hold-down for 4s (2/2 healthy backends, announced in 26s; dns)\n") !=
          std::string::npos);
    s.bird_error = "cannot connect to BIRD at /run/bird/bird.ctl: No such file or directory";
    CHECK(julier::cli::render_status(s).find("bird         ERROR: cannot connect") != std::string::npos);
    s.bgp = false;
    CHECK(julier::cli::render_status(s).find("vip ") == std::string::npos);
}
