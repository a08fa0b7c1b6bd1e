// The connection table between the map walk and julierctl: census, paging, flow
// tuples (flows/flow_table.h) and the daemon's views of them (daemon/flow_views.h).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <set>

#include "daemon/flow_views.h"
#include "flows/flow_table.h"

using namespace julier;
using flows::Cursor;
using flows::FlowEntry;

namespace {

FlowEntry entry(std::uint32_t n, std::uint32_t service, std::uint32_t backend) {
    FlowEntry e;
    e.key.family = JL_FAMILY_V4;
    e.key.src[0] = htonl(0xc6120000u + n);  // 198.18.x.y
    e.key.dst[0] = htonl(0xc6130001u);      // 198.19.0.1
    e.key.sport = htons(static_cast<std::uint16_t>(1000 + n));
    e.key.dport = htons(80);
    e.key.proto = IPPROTO_TCP;
    e.value.service_id = service;
    e.value.backend_id = backend;
    return e;
}

// A walk of `entries` in batches of `batch` (tokens are batch indexes), as
// Dataplane::read_flows hands it out; runs a pager over it from its start cursor.
void walk(flows::Pager& pager, const std::vector<FlowEntry>& entries, std::size_t batch, Cursor start) {
    std::optional<std::uint32_t> token = start.token;
    for (;;) {
        const std::size_t first = token.value_or(0) * batch;
        const std::size_t last = std::min(entries.size(), first + batch);
        std::span<const FlowEntry> part(entries.data() + first, last - first);
        std::optional<std::uint32_t> next;
        if (last < entries.size()) next = token.value_or(0) + 1;
        if (!pager.add(token, part, next) || !next) return;
        token = next;
    }
}

plan::Plan two_services() {
    plan::Plan p;
    plan::PlannedService web;
    web.name = "web";
    web.id = 1;
    web.key = {*common::IpAddress::parse("198.19.0.1"), 80, IPPROTO_TCP};
    for (std::uint32_t id : {10u, 11u}) {
        plan::PlannedBackend b;
        b.id = id;
        b.address = *common::IpAddress::parse(id == 10 ? "198.18.0.20" : "198.18.0.21");
        b.role = id == 10 ? plan::BackendRole::in_ring : plan::BackendRole::draining;
        web.backends.push_back(b);
    }
    plan::PlannedService dns;
    dns.name = "dns";
    dns.id = 2;
    dns.key = {*common::IpAddress::parse("2001:db8:1::1"), 53, IPPROTO_UDP};
    plan::PlannedBackend b;
    b.id = 20;
    b.address = *common::IpAddress::parse("2001:db8::20");
    b.role = plan::BackendRole::in_ring;
    dns.backends.push_back(b);
    p.services = {web, dns};
    return p;
}

}  // namespace

TEST_CASE("flows: the census counts entries per service and backend", "[flows]") {
    flows::Census census;
    std::vector<FlowEntry> entries{entry(1, 1, 10), entry(2, 1, 10), entry(3, 1, 11), entry(4, 2, 20), entry(5, 7, 70)};
    census.add(entries);
    CHECK(census.entries == 5);
    CHECK(census.of_service(1) == 3);
    CHECK(census.of_service(2) == 1);
    CHECK(census.of_service(3) == 0);
    CHECK(census.of_backend(1, 10) == 2);
    CHECK(census.of_backend(1, 11) == 1);
    CHECK(census.of_backend(2, 10) == 0);

    const auto plan = two_services();
    const auto names = daemon::FlowNames::of(plan);
    const auto all = daemon::flow_counts(names, census, 100, {});
    CHECK(all.entries == 5);
    CHECK(all.unplanned == 1);  // service 7 is not in the plan
    CHECK(all.max_flows == 100);
    REQUIRE(all.services.size() == 2);
    CHECK(all.services[0].service == "web");
    CHECK(all.services[0].flows == 3);
    CHECK(all.services[1].vip == "2001:db8:1::1");
    CHECK(all.services[1].protocol == "udp");
    REQUIRE(all.backends.size() == 3);
    CHECK(all.backends[0].backend == "198.18.0.20");
    CHECK(all.backends[0].flows == 2);
    CHECK(all.backends[1].state == plan::BackendRole::draining);
    CHECK(all.backends[1].flows == 1);
    CHECK(all.backends[2].flows == 1);

    const auto one = daemon::flow_counts(names, census, 100, flows::Filter{1, 11});
    REQUIRE(one.services.size() == 1);
    REQUIRE(one.backends.size() == 1);
    CHECK(one.backends[0].backend == "198.18.0.21");
    CHECK(one.backends[0].flows == 1);
}

TEST_CASE("flows: a SERVICE [BACKEND] argument becomes a filter of ids", "[flows]") {
    const auto plan = two_services();
    auto f = daemon::flow_filter(plan, "web", "198.18.0.21");
    REQUIRE(std::holds_alternative<flows::Filter>(f));
    CHECK(std::get<flows::Filter>(f).service_id == 1u);
    CHECK(std::get<flows::Filter>(f).backend_id == 11u);
    CHECK(std::get<flows::Filter>(daemon::flow_filter(plan, "", "")).service_id == std::nullopt);
    CHECK(std::get<std::string>(daemon::flow_filter(plan, "nope", "")) == "no service 'nope'");
    CHECK(std::get<std::string>(daemon::flow_filter(plan, "web", "198.18.0.99")) ==
          "service 'web' has no backend 198.18.0.99");
    CHECK(std::get<std::string>(daemon::flow_filter(plan, "web", "x")) == "'x' is not an IP address");
    CHECK(flows::Filter{1, 10}.matches(entry(0, 1, 10).value));
    CHECK_FALSE(flows::Filter{1, 10}.matches(entry(0, 1, 11).value));
    CHECK_FALSE(flows::Filter{2, std::nullopt}.matches(entry(0, 1, 11).value));
}

TEST_CASE("flows: cursors round trip and refuse anything else", "[flows]") {
    for (const Cursor c : {Cursor{}, Cursor{std::nullopt, 7}, Cursor{0u, 0}, Cursor{4294967295u, 123456789012}}) {
        INFO(c.to_string());
        CHECK(Cursor::parse(c.to_string()) == c);
    }
    CHECK(Cursor{12u, 3}.to_string() == "b12.3");
    CHECK(Cursor{}.to_string() == "start.0");
    for (const char* bad : {"", "b12", "b.3", "x12.3", "b12.", "b-1.0", "b4294967296.0", "start.x", "b1.2.3"}) {
        INFO(bad);
        CHECK_FALSE(Cursor::parse(bad));
    }
}

TEST_CASE("flows: pages of a walk see every selected entry once, whatever the batch and page sizes", "[flows]") {
    std::vector<FlowEntry> entries;
    for (std::uint32_t i = 0; i < 103; ++i) entries.push_back(entry(i, 1 + i % 3, 10 + i % 5));
    for (std::size_t batch : {1u, 7u, 50u, 200u}) {
        for (std::size_t limit : {1u, 4u, 33u, 1000u}) {
            for (const flows::Filter filter : {flows::Filter{}, flows::Filter{2, std::nullopt}}) {
                INFO("batch " << batch << " limit " << limit << " filtered " << filter.service_id.has_value());
                std::vector<std::uint32_t> seen;
                Cursor at;
                int pages = 0;
                for (;; ++pages) {
                    REQUIRE(pages < 200);
                    flows::Pager pager(at, filter, limit, 1 << 20, nullptr);
                    walk(pager, entries, batch, at);
                    CHECK(pager.entries().size() <= limit);
                    for (const auto& e : pager.entries()) seen.push_back(ntohs(e.key.sport) - 1000u);
                    if (!pager.next()) break;
                    at = *pager.next();
                    // A cursor survives its text form.
                    REQUIRE(Cursor::parse(at.to_string()) == at);
                }
                std::vector<std::uint32_t> want;
                for (std::uint32_t i = 0; i < entries.size(); ++i)
                    if (filter.matches(entries[i].value)) want.push_back(i);
                CHECK(seen == want);
            }
        }
    }
}

TEST_CASE("flows: a page stops at its byte budget and resumes at the entry that did not fit", "[flows]") {
    std::vector<FlowEntry> entries;
    for (std::uint32_t i = 0; i < 10; ++i) entries.push_back(entry(i, 1, 10));
    flows::Pager pager(Cursor{}, {}, 100, 250, [](const FlowEntry&) { return std::size_t{100}; });
    walk(pager, entries, 4, Cursor{});
    CHECK(pager.entries().size() == 2);
    REQUIRE(pager.next());
    CHECK(*pager.next() == Cursor{std::nullopt, 2});
    CHECK(pager.scanned() == 2);
}

TEST_CASE("flows: flow tuples", "[flows]") {
    auto v4 = common::Endpoint::parse("198.18.0.10:40000");
    REQUIRE(v4);
    CHECK(v4->address.to_string() == "198.18.0.10");
    CHECK(v4->port == 40000);
    auto v6 = common::Endpoint::parse("[2001:db8::10]:443");
    REQUIRE(v6);
    CHECK(v6->address.is_v6());
    CHECK(v6->port == 443);
    for (const char* bad : {"198.18.0.10", "198.18.0.10:", "198.18.0.10:65536", "2001:db8::10:443", "[198.18.0.10]:1",
                            "[2001:db8::10]443", "[2001:db8::10]", "host:80", ":80"}) {
        INFO(bad);
        CHECK_FALSE(common::Endpoint::parse(bad));
    }
    CHECK(common::Endpoint{v6->address, 443}.to_string() == "[2001:db8::10]:443");
    CHECK(flows::parse_protocol("udp") == IPPROTO_UDP);
    CHECK_FALSE(flows::parse_protocol("TCP"));

    const auto key = flows::make_key(IPPROTO_TCP, *v4, *common::Endpoint::parse("198.19.0.1:80"));
    CHECK(key.family == JL_FAMILY_V4);
    CHECK(key.src[0] == htonl(0xc612000au));
    CHECK(key.src[1] == 0);
    CHECK(key.sport == htons(40000));
    CHECK(key.dport == htons(80));
    CHECK(key.pad == 0);
    CHECK(flows::key_destination(key).to_string() == "198.19.0.1");

    const auto names = daemon::FlowNames::of(two_services());
    auto e = entry(10, 1, 11);
    e.key = key;
    const auto info = daemon::flow_info(e, names);
    CHECK(info.protocol == "tcp");
    CHECK(info.client == "198.18.0.10:40000");
    CHECK(info.vip == "198.19.0.1:80");
    CHECK(info.service == "web");
    CHECK(info.backend == "198.18.0.21");
    CHECK(info.idle_seconds == -1);
    CHECK(daemon::flow_info_bytes(e, names) == nlohmann::json(info).dump().size() + 1);
}

TEST_CASE("flows: which names the entry's backend, the ring's pick, or none", "[flows]") {
    const auto names = daemon::FlowNames::of(two_services());
    dataplane::FlowPick pick;
    pick.generation = 5;
    CHECK(daemon::which_result(pick, names).chosen_by == "none");
    CHECK(daemon::which_result(pick, names).service.empty());

    pick.vip = jl_vip{};
    pick.vip->service_id = 1;
    pick.ring_hash = 99;
    pick.ring_backend = 10;
    pick.backend = 10;
    auto ring = daemon::which_result(pick, names);
    CHECK(ring.service == "web");
    CHECK(ring.chosen_by == "ring");
    CHECK(ring.backend == "198.18.0.20");
    CHECK(ring.entry_backend.empty());
    CHECK(ring.hash == 99);

    pick.entry = flows::FlowValue{11, 1, std::nullopt, ""};
    pick.entry_kept = true;
    pick.backend = 11;
    auto kept = daemon::which_result(pick, names);
    CHECK(kept.chosen_by == "entry");
    CHECK(kept.backend == "198.18.0.21");
    CHECK(kept.ring_backend == "198.18.0.20");

    pick.entry = flows::FlowValue{55, 1, std::nullopt, ""};  // a backend id the plan no longer has
    pick.entry_kept = false;
    pick.backend = 10;
    auto repick = daemon::which_result(pick, names);
    CHECK(repick.chosen_by == "ring");
    CHECK(repick.entry_backend == "id 55");
    CHECK_FALSE(repick.entry_kept);

    pick.backend.reset();
    pick.ring_backend.reset();
    pick.entry.reset();
    CHECK(daemon::which_result(pick, names).chosen_by == "none");
    CHECK(daemon::which_result(pick, names).service == "web");
}
