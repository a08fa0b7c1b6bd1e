// The dataplane against the kernel: load, apply, packets through the loaded
// forwarder (BPF_PROG_TEST_RUN), adoption of pinned state, refusals.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "dataplane_support.h"
#include "plan_test_support.h"

using namespace julier;
using namespace julier::integration;
using namespace julier::plan_test;
using dataplane::Dataplane;

namespace {

constexpr const char* kVip = "198.19.0.1";

config::Catalogue web_catalogue(std::vector<config::Backend> backends) {
    auto cat = catalogue({service("web", kVip, 80, std::move(backends))});
    cat.limits.max_services = 16;
    cat.limits.max_backends = 64;
    cat.limits.ring_capacity = 1u << 18;
    return cat;
}

std::vector<config::Backend> three_backends() {
    return {backend("198.18.0.20"), backend("198.18.0.21"), backend("198.18.0.22")};
}

// The backend MAC of each backend id of a plan's first service.
std::map<std::uint32_t, test::Mac> macs_by_id(const plan::Plan& p) {
    std::map<std::uint32_t, test::Mac> macs;
    for (const auto& b : p.services.at(0).backends) {
        test::Mac m;
        std::memcpy(m.data(), b.entry.dst_mac, 6);
        macs[b.id] = m;
    }
    return macs;
}

std::uint32_t id_of(const plan::Plan& p, const std::string& address) {
    return find_backend(p.services.at(0), address).id;
}

// Sends SYNs (or, for established connections, ACKs: a SYN is placed by the ring
// whatever the connection table says) for sports [first, first + count) and returns
// the backend id each went to, checking along the way that the frame left as an l2
// forward should.
std::map<std::uint16_t, std::uint32_t> send_flows(const Dataplane& dp, const plan::Plan& p, std::uint16_t first,
                                                  std::uint16_t count, std::uint8_t flags = test::kTcpSyn) {
    std::map<std::uint32_t, test::Mac> macs = macs_by_id(p);
    std::map<std::uint16_t, std::uint32_t> chosen;
    for (std::uint16_t sport = first; sport < first + count; ++sport) {
        test::Bytes in = test::Packet().eth(kLbMac, kClientMac).ipv4(kClient, kVip).tcp(sport, 80).flags(flags).build();
        RunResult out = run_packet(dp.program_fd(), in);
        REQUIRE(out.action == XDP_TX);
        REQUIRE(out.frame.size() == in.size());
        // Only the MACs change in l2 mode.
        REQUIRE(std::equal(in.begin() + 12, in.end(), out.frame.begin() + 12));
        REQUIRE(src_mac(out.frame) == test::Mac(kOurMac));
        std::optional<jl_flow> flow = dp.lookup_flow(flow_key(kVip, 80, sport));
        REQUIRE(flow);
        REQUIRE(macs.count(flow->backend_id) == 1);
        REQUIRE(dst_mac(out.frame) == macs.at(flow->backend_id));
        REQUIRE(flow->service_id == p.services.at(0).id);
        chosen[sport] = flow->backend_id;
    }
    return chosen;
}

}  // namespace

TEST_CASE("a fresh forwarder forwards an applied plan", "[dataplane][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    auto dp = Dataplane::open(options_for(pins));
    CHECK_FALSE(dp->adopted());
    CHECK(dp->generation() == 0);
    // Nothing applied: the VIP is nobody's, the kernel gets the packet.
    CHECK(run_packet(dp->program_fd(), syn(kVip, 80, 1000)).action == XDP_PASS);

    auto cat = web_catalogue(three_backends());
    plan::Plan p = plan::make_plan(cat, all_resolved(cat));
    dataplane::ApplyResult r = dp->apply(p);
    CHECK(r.generation == 1);
    CHECK(dp->generation() == 1);
    CHECK(r.services_written == 1);
    CHECK(r.backends_written == 3);
    CHECK(r.ring_slots_written == 101);

    auto chosen = send_flows(*dp, p, 1000, 300);
    std::map<std::uint32_t, int> per_backend;
    for (const auto& [sport, id] : chosen) ++per_backend[id];
    CHECK(per_backend.size() == 3);  // Maglev spreads 300 flows over all three
    for (const auto& [id, n] : per_backend) CHECK(n > 40);

    // The same flows again: the same backends.
    CHECK(send_flows(*dp, p, 1000, 300, test::kTcpAck) == chosen);

    // Another port of the same VIP is no service: passed to the kernel.
    CHECK(run_packet(dp->program_fd(), syn(kVip, 81, 1000)).action == XDP_PASS);

    dataplane::Counters counters = dp->read_counters();
    CHECK(counters.reasons[JL_CNT_TX_FORWARD].packets == 600);
    CHECK(counters.reasons[JL_CNT_PASS_NOT_VIP].packets == 2);
    const auto& service = counters.services.at(p.services[0].id);
    CHECK(service.packets == 600);
    CHECK(service.new_flows == 300);
    std::uint64_t backend_packets = 0;
    for (const auto& [id, n] : per_backend) {
        CHECK(counters.backends.at(id).packets == static_cast<std::uint64_t>(2 * n));
        backend_packets += counters.backends.at(id).packets;
    }
    CHECK(backend_packets == 600);
    CHECK(counters.reasons[JL_CNT_TX_FORWARD].bytes == service.bytes);

    dataplane::LiveState live = dp->live_state();
    CHECK(live.generation == 1);
    CHECK(live.side == 1);
    REQUIRE(live.services.size() == 1);
    CHECK(live.services[0].vip.service_id == p.services[0].id);
    CHECK(live.services[0].vip.ring_size == 101);
    CHECK(live.frag_vips.size() == 1);
    CHECK(live.backends.size() == 3);
    std::vector<std::uint32_t> ring = dp->read_ring(live.side, live.services[0].vip.ring_offset, 101);
    CHECK(ring == p.services[0].ring);
    CHECK(dp->count_flows() == 300);
}

TEST_CASE("drain keeps established flows; down re-picks them", "[dataplane][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    auto dp = Dataplane::open(options_for(pins));
    auto cat = web_catalogue(three_backends());
    cat.services[0].health.kind = config::HealthKind::tcp;
    auto runtime = all_resolved(cat);
    for (const char* a : {"198.18.0.20", "198.18.0.21", "198.18.0.22"}) {
        runtime.health["web"][ip(a)].state = julier::health::State::up;
    }
    plan::Plan up = plan::make_plan(cat, runtime);
    dp->apply(up);
    auto before = send_flows(*dp, up, 2000, 200);
    std::uint32_t drained = id_of(up, "198.18.0.21");
    std::size_t on_drained = 0;
    for (const auto& [sport, id] : before) on_drained += id == drained;
    REQUIRE(on_drained > 0);

    runtime.overrides["web"][ip("198.18.0.21")].state = config::BackendState::drain;
    plan::Plan draining = plan::make_plan(cat, runtime, up.ids);
    dp->apply(draining);
    CHECK(send_flows(*dp, draining, 2000, 200, test::kTcpAck) == before);  // established: unchanged
    for (const auto& [sport, id] : send_flows(*dp, draining, 3000, 200)) {
        CHECK(id != drained);  // new flows avoid it
    }

    runtime.health["web"][ip("198.18.0.21")].state = julier::health::State::down;
    plan::Plan down = plan::make_plan(cat, runtime, draining.ids);
    dp->apply(down);
    auto after = send_flows(*dp, down, 2000, 200, test::kTcpAck);
    for (const auto& [sport, id] : after) {
        CHECK(id != drained);
        if (before.at(sport) != drained) {
            CHECK(id == before.at(sport));  // flows of live backends stay put
        }
    }
}

TEST_CASE("a service without usable backends drops and counts it", "[dataplane][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    auto dp = Dataplane::open(options_for(pins));
    auto cat = web_catalogue(three_backends());
    cat.services[0].health.kind = config::HealthKind::tcp;
    cat.services[0].when_all_down = config::WhenAllDown::drop;
    auto runtime = all_resolved(cat);
    for (const char* a : {"198.18.0.20", "198.18.0.21", "198.18.0.22"}) {
        runtime.health["web"][ip(a)].state = julier::health::State::down;
    }
    dp->apply(plan::make_plan(cat, runtime));
    CHECK(run_packet(dp->program_fd(), syn(kVip, 80, 4000)).action == XDP_DROP);
    CHECK(run_packet(dp->program_fd(), syn("198.19.0.99", 80, 4000)).action == XDP_PASS);
    CHECK(dp->read_counters().reasons[JL_CNT_DROP_NO_BACKEND].packets == 1);
}

TEST_CASE("a recycled backend id starts its counters at zero", "[dataplane][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    auto dp = Dataplane::open(options_for(pins));
    // Four backend ids: the fourth backend address takes the last never-used id, the
    // fifth must recycle the id of the first one removed.
    auto with = [](std::vector<const char*> addresses) {
        std::vector<config::Backend> backends;
        for (const char* a : addresses) backends.push_back(backend(a));
        auto cat = web_catalogue(std::move(backends));
        cat.limits.max_backends = 4;
        return cat;
    };
    auto cat_a = with({"198.18.0.20", "198.18.0.21", "198.18.0.22"});
    plan::Plan a = plan::make_plan(cat_a, all_resolved(cat_a));
    dp->apply(a);
    send_flows(*dp, a, 5000, 300);
    const std::uint32_t kept = id_of(a, "198.18.0.20");
    const std::uint32_t removed = id_of(a, "198.18.0.22");
    dataplane::Counters before = dp->read_counters();
    REQUIRE(before.backends.at(removed).packets > 0);
    REQUIRE(before.backends.at(kept).packets > 0);

    auto cat_b = with({"198.18.0.20", "198.18.0.21", "198.18.0.23"});
    plan::Plan b = plan::make_plan(cat_b, all_resolved(cat_b), a.ids);
    dp->apply(b);
    auto cat_c = with({"198.18.0.20", "198.18.0.21", "198.18.0.24"});
    plan::Plan c = plan::make_plan(cat_c, all_resolved(cat_c), b.ids);
    REQUIRE(id_of(c, "198.18.0.24") == removed);  // the id came back
    dp->apply(c);

    dataplane::Counters after = dp->read_counters();
    CHECK(after.backends.at(removed).packets == 0);
    CHECK(after.backends.at(removed).bytes == 0);
    CHECK(after.backends.at(kept).packets == before.backends.at(kept).packets);  // untouched
    CHECK(after.services.at(c.services[0].id).packets == before.services.at(a.services[0].id).packets);

    // The new backend counts its own traffic from zero on.
    std::size_t to_new = 0;
    for (const auto& [sport, id] : send_flows(*dp, c, 9000, 300)) to_new += id == removed;
    CHECK(dp->read_counters().backends.at(removed).packets == to_new);
}

TEST_CASE("apply writes the inactive side by difference", "[dataplane][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    auto dp = Dataplane::open(options_for(pins));
    auto cat = web_catalogue(three_backends());
    cat.services[0].ring_size = 65537;
    cat.services[0].health.kind = config::HealthKind::tcp;
    auto runtime = all_resolved(cat);
    for (const char* a : {"198.18.0.20", "198.18.0.21", "198.18.0.22"}) {
        runtime.health["web"][ip(a)].state = julier::health::State::up;
    }
    plan::Plan a = plan::make_plan(cat, runtime);

    auto r1 = dp->apply(a);  // side 1, empty before
    auto r2 = dp->apply(a);  // side 0, empty before
    auto r3 = dp->apply(a);  // side 1 holds a already
    CHECK(r1.ring_slots_written == 65537);
    CHECK(r2.ring_slots_written == 65537);
    CHECK(r1.filter_words_written == JL_VIP_FILTER_WORDS);
    CHECK(r3.generation == 3);
    CHECK(r3.services_written == 0);
    CHECK(r3.backends_written == 0);
    CHECK(r3.ring_slots_written == 0);
    CHECK(r3.filter_words_written == 0);
    CHECK(r3.keys_deleted == 0);

    runtime.health["web"][ip("198.18.0.22")].state = julier::health::State::down;
    plan::Plan b = plan::make_plan(cat, runtime, a.ids);
    std::size_t moved = 0;
    for (std::size_t i = 0; i < a.services[0].ring.size(); ++i) moved += a.services[0].ring[i] != b.services[0].ring[i];
    auto r4 = dp->apply(b);  // side 0 holds a
    CHECK(r4.generation == 4);
    CHECK(r4.ring_slots_written == moved);
    CHECK(moved < 65537 / 2);
    CHECK(r4.backends_written == 1);
    CHECK(r4.services_written == 0);
    CHECK(dp->read_ring(0, dp->live_state().services.at(0).vip.ring_offset, 65537) == b.services[0].ring);
}

TEST_CASE("a restarted daemon adopts the pinned forwarder and its connections", "[dataplane][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    auto cat = web_catalogue(three_backends());
    plan::Plan p = plan::make_plan(cat, all_resolved(cat));
    std::map<std::uint16_t, std::uint32_t> chosen;
    std::uint32_t prog_id = 0;
    {
        auto dp = Dataplane::open(options_for(pins));
        dp->apply(p);
        chosen = send_flows(*dp, p, 5000, 100);
        bpf_prog_info info{};
        __u32 len = sizeof(info);
        REQUIRE(bpf_obj_get_info_by_fd(dp->program_fd(), &info, &len) == 0);
        prog_id = info.id;
    }  // the daemon is gone; pins hold everything

    auto dp = Dataplane::open(options_for(pins));
    CHECK(dp->adopted());
    CHECK(dp->generation() == 1);
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    REQUIRE(bpf_obj_get_info_by_fd(dp->program_fd(), &info, &len) == 0);
    CHECK(info.id == prog_id);  // the very program that was running
    CHECK(dp->count_flows() == 100);

    plan::IdAllocator ids = dp->live_ids();
    CHECK(ids.services() == p.ids.services());
    CHECK(ids.backends() == p.ids.backends());
    CHECK(send_flows(*dp, p, 5000, 100, test::kTcpAck) == chosen);

    // The first apply after an adopt writes the side whole; forwarding carries on.
    plan::Plan again = plan::make_plan(cat, all_resolved(cat), ids);
    auto r = dp->apply(again);
    CHECK(r.full_write);
    CHECK(r.generation == 2);
    CHECK(r.ring_slots_written == 101);
    CHECK(send_flows(*dp, again, 5000, 100, test::kTcpAck) == chosen);
}

TEST_CASE("forwarding and connections survive kill -9 of the daemon", "[dataplane][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    auto cat = web_catalogue(three_backends());
    plan::Plan p = plan::make_plan(cat, all_resolved(cat));

    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::fflush(nullptr);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(fds[0]);
        try {
            auto dp = Dataplane::open(options_for(pins));
            dp->apply(p);
            for (std::uint16_t sport = 6000; sport < 6050; ++sport) {
                RunResult out = run_packet(dp->program_fd(), syn(kVip, 80, sport));
                std::uint8_t record[8] = {static_cast<std::uint8_t>(out.action)};
                std::memcpy(record + 1, out.frame.data(), 6);
                if (::write(fds[1], record, sizeof(record)) != sizeof(record)) break;
            }
        } catch (...) {
        }
        ::close(fds[1]);
        ::kill(::getpid(), SIGKILL);  // no destructor, no cleanup
        ::_exit(1);
    }
    ::close(fds[1]);
    std::vector<std::array<std::uint8_t, 8>> records;
    std::array<std::uint8_t, 8> record;
    while (::read(fds[0], record.data(), record.size()) == static_cast<ssize_t>(record.size())) {
        records.push_back(record);
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    REQUIRE(records.size() == 50);

    auto dp = Dataplane::open(options_for(pins));
    CHECK(dp->adopted());
    CHECK(dp->generation() == 1);
    CHECK(dp->count_flows() == 50);
    for (std::uint16_t sport = 6000; sport < 6050; ++sport) {
        const auto& before = records[sport - 6000];
        CHECK(before[0] == XDP_TX);
        RunResult out = run_packet(dp->program_fd(), syn(kVip, 80, sport));
        CHECK(out.action == XDP_TX);
        CHECK(std::equal(before.begin() + 1, before.begin() + 7, out.frame.begin()));
    }
}

TEST_CASE("pins of another ABI or other limits are refused, not wiped", "[dataplane][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    dataplane::Options options = options_for(pins);
    {
        auto dp = Dataplane::open(options);
        auto cat = web_catalogue(three_backends());
        dp->apply(plan::make_plan(cat, all_resolved(cat)));
        send_flows(*dp, plan::make_plan(cat, all_resolved(cat)), 7000, 10);
    }
    set_pinned_abi_version(pins, JL_ABI_VERSION + 1);
    const std::string theirs = "ABI version " + std::to_string(JL_ABI_VERSION + 1);
    const std::string ours = "ABI version " + std::to_string(JL_ABI_VERSION);
    CHECK_THROWS_WITH(Dataplane::open(options),
                      Catch::Contains(theirs) && Catch::Contains(ours) && Catch::Contains("rm -r " + pins.path()));
    set_pinned_abi_version(pins, JL_ABI_VERSION);

    dataplane::Options bigger = options;
    bigger.limits.max_flows *= 2;
    CHECK_THROWS_WITH(Dataplane::open(bigger), Catch::Contains("other limits") && Catch::Contains("max_flows 65536"));

    // Refusing changed nothing: the old state is still adoptable.
    {
        auto dp = Dataplane::open(options);
        CHECK(dp->adopted());
        CHECK(dp->count_flows() == 10);
    }

    bigger.replace_incompatible = true;
    auto dp = Dataplane::open(bigger);
    CHECK_FALSE(dp->adopted());
    CHECK(dp->generation() == 0);
    CHECK(dp->count_flows() == 0);
    CHECK(dp->limits().max_flows == options.limits.max_flows * 2);
}

TEST_CASE("a pinned map of another layout under the same ABI version is refused", "[dataplane][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    pin_forwarder(pins);
    // jl_counters with one counter fewer, as an older build had.
    replace_pinned_map(pins, "jl_counters", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(jl_traffic), JL_CNT_COUNT - 1);
    CHECK_THROWS_WITH(Dataplane::open(options_for(pins)),
                      Catch::Contains("jl_counters has " + std::to_string(JL_CNT_COUNT - 1) + " entries") &&
                          Catch::Contains("rm -r " + pins.path()));
}

TEST_CASE("a pinned jl_rings that is not memory-mappable is refused as another layout", "[dataplane][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    pin_forwarder(pins);
    // The same sizes without BPF_F_MMAPABLE, as a build before the mapped rings had.
    replace_pinned_map(pins, "jl_rings", BPF_MAP_TYPE_ARRAY, sizeof(__u32),
                       JL_SIDES * options_for(pins).limits.ring_capacity);
    CHECK_THROWS_WITH(Dataplane::open(options_for(pins)), Catch::Contains("jl_rings") && Catch::Contains("flags 0x0") &&
                                                              Catch::Contains("flags 0x400") &&
                                                              Catch::Contains("rm -r " + pins.path()));
}

TEST_CASE("teardown removes every pin", "[dataplane][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    auto dp = Dataplane::open(options_for(pins));
    CHECK(::access((pins.path() + "/jl_flows").c_str(), F_OK) == 0);
    CHECK(::access((pins.path() + "/prog").c_str(), F_OK) == 0);
    dp->teardown();
    CHECK(::access(pins.path().c_str(), F_OK) != 0);
    CHECK_THROWS_AS(dp->generation(), dataplane::DataplaneError);
}
