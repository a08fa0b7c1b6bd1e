// julier-decap status as text and JSON: every counter once under a label of its own
// (JSON keys them by label), and the second-chance peers, or that it is off.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "decap/loader.h"
#include "julier/abi.h"

using julier::decap::counter_label;
using julier::decap::Status;

namespace {

Status pinned_status() {
    Status s;
    s.pin_dir = "/sys/fs/bpf/julier-decap/eth0";
    s.pinned = true;
    s.prog_id = 42;
    s.interfaces = {"eth0"};
    s.modes = {"native"};
    s.gue_port = 6080;
    s.cfg_sources = 1;
    s.cfg_local_addrs = 1;
    s.sources = {*julier::decap::SourcePrefix::parse("198.18.0.0/28")};
    s.local_addresses = {*julier::common::IpAddress::parse("198.18.0.20")};
    for (std::uint32_t c = 0; c < JL_DECAP_CNT_COUNT; ++c) s.counters[c] = {c + 1, 100 * (c + 1)};
    return s;
}

}  // namespace

TEST_CASE("decap status: every counter has a label of its own", "[decap]") {
    std::set<std::string> labels;
    for (std::uint32_t c = 0; c < JL_DECAP_CNT_COUNT; ++c)
        labels.insert(counter_label(static_cast<jl_decap_counter>(c)));
    CHECK(labels.size() == JL_DECAP_CNT_COUNT);
    CHECK(labels.count("second_chance_tx") == 1);
    CHECK(labels.count("second_chance_redirect") == 1);
}

TEST_CASE("decap status: second-chance peers and counters", "[decap]") {
    Status s = pinned_status();
    SECTION("off") {
        const std::string text = julier::decap::render_status(s);
        CHECK(text.find("  second_chance peers: none (second chance off)\n") != std::string::npos);
        auto j = nlohmann::json::parse(julier::decap::render_status_json(s));
        CHECK(j["second_chance_peers"] == nlohmann::json::array());
    }
    SECTION("on") {
        s.cfg_peers = 2;
        s.second_chance_peers = {*julier::decap::SourcePrefix::parse("198.18.0.16/28"),
                                 *julier::decap::SourcePrefix::parse("2001:db8::/120")};
        const std::string text = julier::decap::render_status(s);
        CHECK(text.find("  second_chance peers: 198.18.0.16/28, 2001:db8::/120\n") != std::string::npos);
        auto j = nlohmann::json::parse(julier::decap::render_status_json(s));
        CHECK(j["second_chance_peers"] == nlohmann::json::array({"198.18.0.16/28", "2001:db8::/120"}));
        // Every counter is in the JSON, none hidden by another of the same label.
        CHECK(j["counters"].size() == JL_DECAP_CNT_COUNT);
        CHECK(j["counters"]["second_chance_tx"]["verdict"] == "tx");
        CHECK(j["counters"]["second_chance_tx"]["packets"] == JL_DECAP_CNT_TX_SECOND_CHANCE + 1);
        CHECK(j["counters"]["second_chance_redirect"]["verdict"] == "redirect");
        CHECK(j["counters"]["second_chance_kept"]["bytes"] == 100 * (JL_DECAP_CNT_DECAP_SC_KEPT + 1));
        // The widest label still leaves its columns apart.
        CHECK(text.find("  pass     second_chance_fib_failed ") != std::string::npos);
    }
}
