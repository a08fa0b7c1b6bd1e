// The planner's rules: who is in the ring, with what weight, and what the
// forwarder's tables say about each backend.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include <catch2/catch.hpp>

#include "common/invariant.h"
#include "plan_test_support.h"

using namespace julier;
using namespace julier::plan_test;
using config::BackendState;
using config::HealthKind;
using config::WhenAllDown;
using plan::BackendRole;
using Health = health::State;

namespace {

void set_health(plan::RuntimeState& runtime, const std::string& service, const std::string& address, Health health,
                double factor = 1.0) {
    runtime.health[service][ip(address)] = health::Verdict{health, factor, {}};
}

bool in_ring(const plan::PlannedService& s, std::uint32_t id) {
    return std::find(s.ring.begin(), s.ring.end(), id) != s.ring.end();
}

}  // namespace

TEST_CASE("up backends share the ring and carry their next hop", "[plan]") {
    auto cat = catalogue(
        {service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21"), backend("198.18.0.22")})});
    cat.services[0].health.kind = HealthKind::tcp;
    auto runtime = all_resolved(cat);
    for (const char* a : {"198.18.0.20", "198.18.0.21", "198.18.0.22"}) {
        set_health(runtime, "web", a, Health::up);
    }
    plan::Plan p = plan::make_plan(cat, runtime);

    REQUIRE(p.services.size() == 1);
    const auto& web = p.services[0];
    CHECK(web.vip.ring_size == 101);
    REQUIRE(web.ring.size() == 101);
    auto counts = slot_counts(web);
    REQUIRE(counts.size() == 3);
    for (const auto& b : web.backends) {
        CHECK(b.role == BackendRole::in_ring);
        CHECK(b.weight == 100);
        // Equal weights: each gets about a third of 101 slots.
        CHECK(counts[b.id] >= 30);
        CHECK(counts[b.id] <= 37);
        CHECK(b.entry.flags == JL_BACKEND_F_KEEP_FLOWS);
        CHECK(b.entry.family == JL_FAMILY_V4);
        CHECK(b.entry.service_id == web.id);
        CHECK(b.entry.ifindex == 0);  // the only XDP interface is the egress: XDP_TX
        CHECK(std::memcmp(b.entry.src_mac, kOurMac.data(), 6) == 0);
        neigh::MacAddress expected = mac(4, b.address.bytes[3]);
        CHECK(std::memcmp(b.entry.dst_mac, expected.data(), 6) == 0);
        CHECK(std::memcmp(b.entry.addr, b.address.bytes.data(), 4) == 0);
        CHECK(b.problem.empty());
    }
    CHECK(p.problems().empty());
}

TEST_CASE("answer_ping is a VIP flag on every service of the address, beside the hash flag", "[plan]") {
    auto tcp = service("web", "198.19.0.7", 80, {backend("198.18.0.20")});
    tcp.answer_ping = true;
    tcp.hash = config::HashMode::source;
    auto udp = service("dns", "198.19.0.7", 53, {backend("198.18.0.20")});
    udp.protocol = config::Protocol::udp;
    udp.answer_ping = true;
    auto other = service("mail", "198.19.0.8", 25, {backend("198.18.0.20")});
    auto cat = catalogue({tcp, udp, other});
    const plan::Plan p = plan::make_plan(cat, all_resolved(cat));
    CHECK(p.services.at(0).vip.flags == (JL_VIP_F_ANSWER_PING | JL_VIP_F_SOURCE_AFFINITY));
    CHECK(p.services.at(1).vip.flags == JL_VIP_F_ANSWER_PING);
    CHECK(p.services.at(2).vip.flags == 0);
    // The hash is read back without it.
    CHECK(plan::hash_mode_of(p.services.at(0).vip.flags) == config::HashMode::source);
    // The forwarder reads the address's fragment entries: each carries the flag of its address.
    REQUIRE(p.frag_vips.size() == 3);
    for (const plan::FragVip& f : p.frag_vips) {
        CHECK(((p.services.at(f.service).vip.flags & JL_VIP_F_ANSWER_PING) != 0) == (f.service != 2));
    }
    // Turning it off is a change of both services.
    auto off = cat;
    off.services[0].answer_ping = off.services[1].answer_ping = false;
    const plan::PlanDiff d = plan::diff(p, plan::make_plan(off, all_resolved(off), p));
    CHECK(d.changed_services == std::vector<std::string>{"web", "dns"});
}

TEST_CASE("each hash setting is one VIP flag, and the flag names the setting back", "[plan]") {
    const std::pair<config::HashMode, std::uint16_t> expected[] = {
        {config::HashMode::five_tuple, 0},
        {config::HashMode::source, JL_VIP_F_SOURCE_AFFINITY},
        {config::HashMode::no_source_port, JL_VIP_F_HASH_NO_SOURCE_PORT},
        {config::HashMode::destination_port, JL_VIP_F_HASH_DESTINATION_PORT}};
    for (const auto& [mode, flag] : expected) {
        INFO(config::to_string(mode));
        auto s = service("web", "198.19.0.7", 0, {backend("198.18.0.20")});
        s.hash = mode;
        auto cat = catalogue({s});
        const plan::Plan p = plan::make_plan(cat, all_resolved(cat));
        CHECK(p.services.at(0).vip.flags == flag);
        CHECK((flag & ~JL_VIP_F_HASH_MASK) == 0);
        CHECK(plan::hash_mode_of(flag) == mode);
    }
}

TEST_CASE("the VIP entry says what the catalogue says, ports in network order", "[plan]") {
    auto s = service("dns", "198.19.0.7", 53, {backend("198.18.0.20")}, config::Protocol::udp);
    s.forwarding = config::Forwarding::gue;
    s.hash = config::HashMode::source;
    s.mtu = 1400;
    s.gue_port = 6081;
    s.outer_ttl = 33;
    s.encap_source.ipv4 = ip("198.18.0.2");
    s.encap_source.ipv6 = ip("2001:db8::2");
    s.encap_source.entropy_bits = 8;
    auto cat = catalogue({s});
    plan::Plan p = plan::make_plan(cat, all_resolved(cat));
    const auto& dns = p.services.at(0);

    const std::uint8_t vip_bytes[4] = {198, 19, 0, 7};
    CHECK(std::memcmp(dns.vip_key.addr, vip_bytes, 4) == 0);
    CHECK(dns.vip_key.addr[1] == 0);
    CHECK(dns.vip_key.port == htons(53));
    CHECK(dns.vip_key.proto == IPPROTO_UDP);
    CHECK(dns.vip_key.family == JL_FAMILY_V4);
    CHECK(dns.vip_key.side == 0);
    CHECK(dns.vip.service_id == dns.id);
    CHECK(dns.vip.mode == JL_MODE_GUE);
    CHECK(dns.vip.flags == JL_VIP_F_SOURCE_AFFINITY);
    CHECK(dns.vip.mtu == 1400);
    CHECK(dns.vip.gue_port == htons(6081));
    CHECK(dns.vip.outer_ttl == 33);
    const std::uint8_t src4[4] = {198, 18, 0, 2};
    CHECK(std::memcmp(&dns.vip.src4, src4, 4) == 0);
    const auto v6 = ip("2001:db8::2");
    CHECK(std::memcmp(dns.vip.src6, v6.bytes.data(), 16) == 0);
    CHECK(dns.vip.src_entropy_bits == 8);
    CHECK(dns.vip.ring_offset == 0);
}

TEST_CASE("a down backend leaves the ring and loses its flows", "[plan]") {
    auto cat = catalogue({service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")})});
    cat.services[0].health.kind = HealthKind::tcp;
    auto runtime = all_resolved(cat);
    set_health(runtime, "web", "198.18.0.20", Health::up);
    set_health(runtime, "web", "198.18.0.21", Health::down);
    plan::Plan p = plan::make_plan(cat, runtime);
    const auto& web = p.services[0];
    const auto& up = find_backend(web, "198.18.0.20");
    const auto& down = find_backend(web, "198.18.0.21");

    CHECK(down.role == BackendRole::down);
    CHECK(down.weight == 0);
    CHECK(down.entry.flags == 0);
    CHECK(down.entry.family == JL_FAMILY_V4);  // still named: a flow to it is re-picked, not dropped
    CHECK_FALSE(in_ring(web, down.id));
    CHECK(std::all_of(web.ring.begin(), web.ring.end(), [&](std::uint32_t id) { return id == up.id; }));
}

TEST_CASE("maint: out of the ring and its flows re-picked, like a down backend, while its check passes", "[plan]") {
    auto cat = catalogue({service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")})});
    cat.services[0].health.kind = HealthKind::tcp;
    cat.services[0].when_all_down = config::WhenAllDown::keep;
    auto runtime = all_resolved(cat);
    set_health(runtime, "web", "198.18.0.20", Health::up);
    set_health(runtime, "web", "198.18.0.21", Health::up);
    runtime.overrides["web"][ip("198.18.0.21")].maint = true;
    plan::Plan p = plan::make_plan(cat, runtime);
    const auto& web = p.services[0];
    const auto& kept = find_backend(web, "198.18.0.20");
    const auto& maint = find_backend(web, "198.18.0.21");

    CHECK(maint.role == BackendRole::maint);
    CHECK(maint.health == Health::up);
    CHECK(maint.weight == 0);
    CHECK(maint.state_source == "operator");
    CHECK(maint.entry.flags == 0);  // its flows are re-picked, as a down backend's
    CHECK(maint.entry.family == JL_FAMILY_V4);
    CHECK(std::all_of(web.ring.begin(), web.ring.end(), [&](std::uint32_t id) { return id == kept.id; }));

    // Every other backend down: the service fails open, but not onto the backend in maint.
    set_health(runtime, "web", "198.18.0.20", Health::down);
    p = plan::make_plan(cat, runtime);
    CHECK(p.services[0].fail_open);
    CHECK(find_backend(p.services[0], "198.18.0.21").role == BackendRole::maint);
    CHECK(std::all_of(p.services[0].ring.begin(), p.services[0].ring.end(),
                      [&](std::uint32_t id) { return id == find_backend(p.services[0], "198.18.0.20").id; }));
}

TEST_CASE("the operator's weight sets the ring share", "[plan]") {
    auto cat = catalogue({service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")})});
    auto runtime = all_resolved(cat);
    runtime.overrides["web"][ip("198.18.0.21")].weight = 300;  // the file: 100 each
    plan::Plan p = plan::make_plan(cat, runtime);
    const auto& web = p.services[0];
    const auto& light = find_backend(web, "198.18.0.20");
    const auto& heavy = find_backend(web, "198.18.0.21");
    CHECK(heavy.weight == 300);
    CHECK(heavy.set_weight == 300);
    CHECK(heavy.configured_weight == 100);
    CHECK(heavy.weight_source == "operator");
    CHECK(light.weight_source == "config");
    const auto share = [&](std::uint32_t id) {
        return static_cast<double>(std::count(web.ring.begin(), web.ring.end(), id)) / web.ring.size();
    };
    CHECK(share(heavy.id) == Approx(0.75).margin(0.02));
    CHECK(share(light.id) == Approx(0.25).margin(0.02));

    // Weight 0: keeps its flows, no new ones.
    runtime.overrides["web"][ip("198.18.0.21")].weight = 0;
    p = plan::make_plan(cat, runtime);
    const auto& zero = find_backend(p.services[0], "198.18.0.21");
    CHECK(zero.role == BackendRole::draining);
    CHECK(zero.entry.flags == JL_BACKEND_F_KEEP_FLOWS);
    CHECK_FALSE(in_ring(p.services[0], zero.id));
}

TEST_CASE("health unknown: usable only when nothing checks it", "[plan]") {
    auto cat = catalogue({service("checked", "198.19.0.1", 80, {backend("198.18.0.20")}),
                          service("unchecked", "198.19.0.2", 80, {backend("198.18.0.20")})});
    cat.services[0].health.kind = HealthKind::http;
    cat.services[1].health.kind = HealthKind::none;
    plan::Plan p = plan::make_plan(cat, all_resolved(cat));

    const auto& pending = p.services[0].backends[0];
    CHECK(pending.role == BackendRole::pending);
    CHECK(pending.weight == 0);
    CHECK(pending.entry.flags == JL_BACKEND_F_KEEP_FLOWS);  // a restart must not break its flows
    CHECK(p.services[0].ring.empty());
    CHECK(p.services[0].vip.ring_size == 0);  // when_all_down defaults to drop

    const auto& usable = p.services[1].backends[0];
    CHECK(usable.role == BackendRole::in_ring);
    CHECK(p.services[1].ring.size() == 101);
}

TEST_CASE("drain keeps flows but takes no new ones; the operator overrides the file", "[plan]") {
    auto cat = catalogue({service("web", "198.19.0.1", 80,
                                  {backend("198.18.0.20"), backend("198.18.0.21", 100, BackendState::drain),
                                   backend("198.18.0.22"), backend("198.18.0.23", 100, BackendState::drain)})});
    auto runtime = all_resolved(cat);
    runtime.overrides["web"][ip("198.18.0.22")].state = BackendState::drain;   // operator drains
    runtime.overrides["web"][ip("198.18.0.23")].state = BackendState::active;  // operator undrains
    plan::Plan p = plan::make_plan(cat, runtime);
    const auto& web = p.services[0];

    const auto& by_config = find_backend(web, "198.18.0.21");
    CHECK(by_config.role == BackendRole::draining);
    CHECK(by_config.drain_source == "config");
    CHECK(by_config.weight == 0);
    CHECK(by_config.entry.flags == JL_BACKEND_F_KEEP_FLOWS);
    CHECK_FALSE(in_ring(web, by_config.id));

    const auto& by_operator = find_backend(web, "198.18.0.22");
    CHECK(by_operator.role == BackendRole::draining);
    CHECK(by_operator.drain_source == "operator");
    CHECK_FALSE(in_ring(web, by_operator.id));

    const auto& undrained = find_backend(web, "198.18.0.23");
    CHECK(undrained.role == BackendRole::in_ring);
    CHECK(in_ring(web, undrained.id));
    CHECK(in_ring(web, find_backend(web, "198.18.0.20").id));
}

TEST_CASE("a drained backend that goes down loses its flows", "[plan]") {
    auto cat = catalogue(
        {service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21", 100, BackendState::drain)})});
    cat.services[0].health.kind = HealthKind::tcp;
    auto runtime = all_resolved(cat);
    set_health(runtime, "web", "198.18.0.20", Health::up);
    set_health(runtime, "web", "198.18.0.21", Health::down);
    const plan::Plan plan_b = plan::make_plan(cat, runtime);
    const auto& b = find_backend(plan_b.services[0], "198.18.0.21");
    CHECK(b.role == BackendRole::down);
    CHECK(b.entry.flags == 0);
}

TEST_CASE("configured weight 0 keeps flows and takes no new ones", "[plan]") {
    auto cat = catalogue({service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21", 0)})});
    const plan::Plan plan_web = plan::make_plan(cat, all_resolved(cat));
    const auto& web = plan_web.services[0];
    const auto& zero = find_backend(web, "198.18.0.21");
    CHECK(zero.role == BackendRole::draining);
    CHECK(zero.drain_source.empty());
    CHECK(zero.entry.flags == JL_BACKEND_F_KEEP_FLOWS);
    CHECK_FALSE(in_ring(web, zero.id));
}

TEST_CASE("slow start scales the weight and never rounds a start to nothing", "[plan]") {
    auto cat = catalogue({service("web", "198.19.0.1", 80,
                                  {backend("198.18.0.20", 400), backend("198.18.0.21", 400), backend("198.18.0.22", 5),
                                   backend("198.18.0.23", 400)})});
    cat.services[0].ring_size = 10007;
    cat.limits.ring_capacity = 10007;
    cat.services[0].health.kind = HealthKind::tcp;
    auto runtime = all_resolved(cat);
    set_health(runtime, "web", "198.18.0.20", Health::up);
    set_health(runtime, "web", "198.18.0.21", Health::up, 0.25);
    set_health(runtime, "web", "198.18.0.22", Health::up, 0.01);  // 5 * 0.01 = 0.05
    set_health(runtime, "web", "198.18.0.23", Health::up, 0.0);
    const plan::Plan plan_web = plan::make_plan(cat, runtime);
    const auto& web = plan_web.services[0];

    const auto& full = find_backend(web, "198.18.0.20");
    const auto& quarter = find_backend(web, "198.18.0.21");
    const auto& tiny = find_backend(web, "198.18.0.22");
    const auto& zero = find_backend(web, "198.18.0.23");
    CHECK(full.weight == 400);
    CHECK(quarter.weight == 100);
    CHECK(tiny.weight == 1);
    CHECK(tiny.role == BackendRole::in_ring);
    CHECK(zero.weight == 0);
    CHECK(zero.role == BackendRole::draining);  // up, but its share is nothing yet
    CHECK(zero.entry.flags == JL_BACKEND_F_KEEP_FLOWS);

    // Slots follow the weights 400 : 100 : 1 of 10007 slots.
    auto counts = slot_counts(web);
    CHECK(counts.count(zero.id) == 0);
    double total = 501.0;
    CHECK(counts[full.id] == Approx(10007 * 400 / total).epsilon(0.05));
    CHECK(counts[quarter.id] == Approx(10007 * 100 / total).epsilon(0.10));
    CHECK(counts[tiny.id] >= 1);
    CHECK(counts[tiny.id] <= 60);
}

TEST_CASE("when every backend is down: keep fails open, drop empties the ring", "[plan]") {
    auto make = [](WhenAllDown mode) {
        auto s = service("web", "198.19.0.1", 80,
                         {backend("198.18.0.20"), backend("198.18.0.21"),
                          backend("198.18.0.22", 100, BackendState::drain), backend("198.18.0.23")});
        s.health.kind = HealthKind::tcp;
        s.when_all_down = mode;
        return catalogue({s});
    };
    auto runtime_for = [](const config::Catalogue& cat) {
        auto runtime = all_resolved(cat);
        for (const char* a : {"198.18.0.20", "198.18.0.21", "198.18.0.22"}) {
            set_health(runtime, "web", a, Health::down);
        }
        runtime.next_hops.erase(ip("198.18.0.23"));  // and the last one has no MAC
        return runtime;
    };

    SECTION("keep") {
        auto cat = make(WhenAllDown::keep);
        const plan::Plan plan_web = plan::make_plan(cat, runtime_for(cat));
        const auto& web = plan_web.services[0];
        CHECK(web.fail_open);
        CHECK(web.ring.size() == 101);
        const auto& a = find_backend(web, "198.18.0.20");
        const auto& b = find_backend(web, "198.18.0.21");
        CHECK(a.role == BackendRole::in_ring);
        CHECK(a.weight == 100);
        CHECK(a.entry.flags == JL_BACKEND_F_KEEP_FLOWS);
        CHECK(in_ring(web, a.id));
        CHECK(in_ring(web, b.id));
        // Drained stays out; unresolvable cannot be forwarded to at all.
        CHECK_FALSE(in_ring(web, find_backend(web, "198.18.0.22").id));
        const auto& unresolved = find_backend(web, "198.18.0.23");
        CHECK(unresolved.role == BackendRole::unresolved);
        CHECK_FALSE(in_ring(web, unresolved.id));
        CHECK(slot_counts(web).size() == 2);
    }
    SECTION("drop") {
        auto cat = make(WhenAllDown::drop);
        const plan::Plan plan_web = plan::make_plan(cat, runtime_for(cat));
        const auto& web = plan_web.services[0];
        CHECK_FALSE(web.fail_open);
        CHECK(web.ring.empty());
        CHECK(web.vip.ring_size == 0);
        CHECK(find_backend(web, "198.18.0.20").role == BackendRole::down);
    }
}

TEST_CASE("an unresolvable backend is reported, never black-holed", "[plan]") {
    auto cat = catalogue({service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")})});
    auto runtime = all_resolved(cat);
    runtime.next_hops[ip("198.18.0.21")] = neigh::Resolution{std::nullopt, "198.18.0.21 did not answer ARP on eth0"};
    plan::Plan p = plan::make_plan(cat, runtime);
    const auto& web = p.services[0];
    const auto& bad = find_backend(web, "198.18.0.21");

    CHECK(bad.role == BackendRole::unresolved);
    CHECK(bad.problem == "198.18.0.21 did not answer ARP on eth0");
    CHECK(bad.entry.flags == 0);
    CHECK_FALSE(in_ring(web, bad.id));
    REQUIRE(p.problems().size() == 1);
    CHECK(p.problems()[0] == "service web: backend 198.18.0.21: 198.18.0.21 did not answer ARP on eth0");

    runtime.next_hops.erase(ip("198.18.0.21"));
    const plan::Plan plan_never = plan::make_plan(cat, runtime);
    const auto& never = find_backend(plan_never.services[0], "198.18.0.21");
    CHECK(never.role == BackendRole::unresolved);
    CHECK_FALSE(never.problem.empty());
}

TEST_CASE("l2 forwarding refuses a backend behind a router; encapsulation takes it", "[plan]") {
    auto l2 = service("l2", "198.19.0.1", 80, {backend("198.20.0.5")});
    auto ipip = service("ipip", "198.19.0.2", 80, {backend("198.20.0.5")});
    ipip.forwarding = config::Forwarding::ipip;
    ipip.encap_source.ipv4 = ip("198.18.0.2");
    auto cat = catalogue({l2, ipip});
    plan::RuntimeState runtime;
    neigh::NextHop hop = direct(ip("198.18.0.1"));
    hop.gateway = ip("198.18.0.1");
    runtime.next_hops[ip("198.20.0.5")] = neigh::Resolution{hop, ""};
    plan::Plan p = plan::make_plan(cat, runtime);

    const auto& refused = p.services[0].backends[0];
    CHECK(refused.role == BackendRole::unresolved);
    CHECK(refused.problem.find("directly connected") != std::string::npos);
    CHECK(refused.problem.find("198.18.0.1") != std::string::npos);

    const auto& tunnelled = p.services[1].backends[0];
    CHECK(tunnelled.role == BackendRole::in_ring);
    neigh::MacAddress gateway_mac = mac(4, 1);
    CHECK(std::memcmp(tunnelled.entry.dst_mac, gateway_mac.data(), 6) == 0);
}

TEST_CASE("egress on another device than the only XDP interface is a redirect", "[plan]") {
    auto cat = catalogue({service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.1.20")})});
    auto runtime = all_resolved(cat);
    neigh::NextHop other = direct(ip("198.18.1.20"));
    other.ifindex = kEth1;
    other.ifname = "eth1";
    runtime.next_hops[ip("198.18.1.20")] = neigh::Resolution{other, ""};

    plan::Plan one = plan::make_plan(cat, runtime);
    CHECK(find_backend(one.services[0], "198.18.0.20").entry.ifindex == 0);
    CHECK(find_backend(one.services[0], "198.18.1.20").entry.ifindex == kEth1);

    // With two XDP interfaces the receiving one is unknown in advance: always name it.
    config::Interface eth1;
    eth1.name = "eth1";
    cat.interfaces.push_back(eth1);
    plan::Plan two = plan::make_plan(cat, runtime);
    CHECK(find_backend(two.services[0], "198.18.0.20").entry.ifindex == kEth0);
    CHECK(find_backend(two.services[0], "198.18.1.20").entry.ifindex == kEth1);
}

TEST_CASE("IPv6 services and backends", "[plan]") {
    auto cat = catalogue({service("v6", "2001:db8:1::1", 443, {backend("2001:db8::20"), backend("2001:db8::21")})});
    const plan::Plan plan_v6 = plan::make_plan(cat, all_resolved(cat));
    const auto& v6 = plan_v6.services[0];
    const auto vip = ip("2001:db8:1::1");
    CHECK(v6.vip_key.family == JL_FAMILY_V6);
    CHECK(std::memcmp(v6.vip_key.addr, vip.bytes.data(), 16) == 0);
    CHECK(v6.vip_key.port == htons(443));
    for (const auto& b : v6.backends) {
        CHECK(b.entry.family == JL_FAMILY_V6);
        CHECK(std::memcmp(b.entry.addr, b.address.bytes.data(), 16) == 0);
        CHECK(b.role == BackendRole::in_ring);
    }
    CHECK(slot_counts(v6).size() == 2);
}

TEST_CASE("the ring depends on the backends, not on their order or ids", "[plan]") {
    auto a = catalogue(
        {service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21"), backend("198.18.0.22")})});
    auto b = catalogue(
        {service("web", "198.19.0.1", 80, {backend("198.18.0.22"), backend("198.18.0.20"), backend("198.18.0.21")})});
    const auto pa = plan::make_plan(a, all_resolved(a));
    const auto pb = plan::make_plan(b, all_resolved(b));
    // Slot by slot the same backend address, whatever id it got.
    auto address_of = [](const plan::PlannedService& s, std::uint32_t id) {
        for (const auto& x : s.backends) {
            if (x.id == id) return x.address;
        }
        return common::IpAddress{};
    };
    REQUIRE(pa.services[0].ring.size() == pb.services[0].ring.size());
    for (std::size_t i = 0; i < pa.services[0].ring.size(); ++i) {
        REQUIRE(address_of(pa.services[0], pa.services[0].ring[i]) ==
                address_of(pb.services[0], pb.services[0].ring[i]));
    }
}

TEST_CASE("limits are enforced with the limit named", "[plan]") {
    // The catalogue's own rule (config/limits.h): a reload that keeps the running
    // limits can hand the planner a catalogue over them.
    auto cat = catalogue({service("a", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")}),
                          service("b", "198.19.0.2", 80, {backend("198.18.0.20")})});
    auto runtime = all_resolved(cat);
    SECTION("services") {
        cat.limits.max_services = 1;
        CHECK_THROWS_WITH(plan::make_plan(cat, runtime),
                          Catch::StartsWith("limits.max_services: 2 services are defined, more than max_services 1; "
                                            "set limits.max_services to at least 2 ("));
    }
    SECTION("backends") {
        cat.limits.max_backends = 2;
        CHECK_THROWS_WITH(plan::make_plan(cat, runtime),
                          Catch::StartsWith("limits.max_backends: 3 backends are defined, more than max_backends 2; "
                                            "set limits.max_backends to at least 3 ("));
    }
    SECTION("ring slots") {
        cat.limits.ring_capacity = 201;
        CHECK_THROWS_WITH(plan::make_plan(cat, runtime),
                          Catch::StartsWith("limits.ring_capacity: the services' rings need 202 slots, more than "
                                            "ring_capacity 201; set limits.ring_capacity to at least 202 ("));
    }
}

TEST_CASE("a catalogue the checks would refuse is a bug report, not a plan", "[plan]") {
    auto cat = catalogue({service("a", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")}),
                          service("b", "198.19.0.2", 80, {backend("198.18.0.20")})});
    auto runtime = all_resolved(cat);
    SECTION("two services on one VIP, port and protocol") {
        cat.services[1].vip = cat.services[0].vip;
        CHECK_THROWS_AS(plan::make_plan(cat, runtime), common::BrokenInvariant);
    }
    SECTION("a backend listed twice") {
        cat.services[0].backends[1].address = cat.services[0].backends[0].address;
        CHECK_THROWS_WITH(plan::make_plan(cat, runtime), Catch::StartsWith("bug: ") && Catch::Contains("twice"));
    }
    SECTION("a valid catalogue plans") { CHECK_NOTHROW(plan::make_plan(cat, runtime)); }
}

TEST_CASE("backend_addresses lists each address once, in catalogue order", "[plan]") {
    auto cat = catalogue({service("a", "198.19.0.1", 80, {backend("198.18.0.21"), backend("198.18.0.20")}),
                          service("b", "198.19.0.2", 80, {backend("198.18.0.20"), backend("198.18.0.22")})});
    std::vector<common::IpAddress> expected{ip("198.18.0.21"), ip("198.18.0.20"), ip("198.18.0.22")};
    CHECK(plan::backend_addresses(cat) == expected);
}
