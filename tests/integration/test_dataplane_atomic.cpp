// apply() is atomic for packets: while one thread keeps switching between three
// plans, every packet another thread runs through the forwarder must come out as
// exactly one of those plans would send it, never as a mix of two.
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <mutex>
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "dataplane_support.h"
#include "plan_test_support.h"

using namespace julier;
using namespace julier::integration;
using namespace julier::plan_test;

namespace {

constexpr const char* kVip = "198.19.0.1";

// Plan `index` sends to its own backends 198.18.<index>.1..4, whose MACs start with
// 0x0a + index, and rewrites the source MAC to one of its own: an output frame names
// its plan in both MACs.
struct Generation {
    std::set<test::Mac> backend_macs;
    test::Mac source_mac{};
};

plan::RuntimeState runtime_for(const config::Catalogue& cat, std::uint8_t index, Generation& generation) {
    plan::RuntimeState runtime;
    generation.source_mac = {0x02, 0xee, index, 0, 0, 1};
    for (const auto& address : plan::backend_addresses(cat)) {
        neigh::NextHop hop;
        hop.dst_mac = {static_cast<std::uint8_t>(0x0a + index), 0, 0, 0, index, address.bytes[3]};
        std::copy(generation.source_mac.begin(), generation.source_mac.end(), hop.src_mac.begin());
        hop.ifindex = kEth0;
        hop.ifname = "eth0";
        runtime.next_hops[address] = neigh::Resolution{hop, ""};
        generation.backend_macs.insert(hop.dst_mac);
    }
    return runtime;
}

}  // namespace

TEST_CASE("every packet sees one whole generation while plans switch", "[dataplane][integration][atomic]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    dataplane::Options options = options_for(pins);
    options.limits.max_flows = 1u << 12;  // small: the LRU churns as well
    auto dp = dataplane::Dataplane::open(options);

    std::vector<plan::Plan> plans;
    std::vector<Generation> generations(3);
    plan::IdAllocator ids;
    for (std::uint8_t i = 0; i < 3; ++i) {
        std::vector<config::Backend> backends;
        for (int host = 1; host <= 4; ++host) {
            backends.push_back(backend("198.18." + std::to_string(i) + "." + std::to_string(host)));
        }
        auto cat = catalogue({service("web", kVip, 80, backends)});
        cat.services[0].ring_size = 65537;  // every switch rewrites a large ring
        cat.limits.max_backends = options.limits.max_backends;
        cat.limits.ring_capacity = options.limits.ring_capacity;
        plans.push_back(plan::make_plan(cat, runtime_for(cat, i, generations[i]), ids));
        ids = plans.back().ids;
    }

    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> packets{0};
    std::mutex mutex;
    std::vector<std::string> failures;
    std::map<std::size_t, std::uint64_t> seen;  // plan index -> packets
    int prog_fd = dp->program_fd();

    std::thread traffic([&] {
        std::mt19937 random(42);
        while (!stop.load()) {
            auto sport = static_cast<std::uint16_t>(1024 + random() % 60000);
            std::string client = "198.18.100." + std::to_string(1 + random() % 250);
            RunResult out;
            try {
                out = run_packet(prog_fd, syn(kVip, 80, sport, client.c_str()));
            } catch (const std::exception& e) {
                std::lock_guard lock(mutex);
                failures.push_back(e.what());
                return;
            }
            ++packets;
            if (out.action == XDP_PASS) {
                continue;  // before the first apply
            }
            std::optional<std::size_t> match;
            for (std::size_t g = 0; g < generations.size(); ++g) {
                if (generations[g].backend_macs.count(dst_mac(out.frame)) &&
                    src_mac(out.frame) == generations[g].source_mac) {
                    match = g;
                }
            }
            std::lock_guard lock(mutex);
            if (out.action != XDP_TX || !match) {
                if (failures.size() < 10) {
                    failures.push_back("action " + std::to_string(out.action) + ", dst " +
                                       neigh::to_string(dst_mac(out.frame)) + ", src " +
                                       neigh::to_string(src_mac(out.frame)));
                }
            } else {
                ++seen[*match];
            }
        }
    });

    // At least 2 s and 40 switches; at most 30 s (slow sanitizer builds).
    auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::steady_clock::now() - start; };
    std::size_t applies = 0;
    std::string apply_error;
    try {
        while ((applies < 40 || elapsed() < std::chrono::seconds(2)) && elapsed() < std::chrono::seconds(30)) {
            // Three plans over two sides: each side keeps getting different content.
            dp->apply(plans[applies % plans.size()]);
            ++applies;
        }
    } catch (const std::exception& e) {
        apply_error = e.what();
    }
    stop = true;
    traffic.join();

    INFO("applies " << applies << ", packets " << packets.load());
    CHECK(apply_error.empty());
    for (const auto& f : failures) FAIL_CHECK(f);
    CHECK(failures.empty());
    CHECK(applies >= 40);
    CHECK(seen.size() == 3);  // the switching really happened under traffic
    auto counters = dp->read_counters();
    CHECK(counters.reasons[JL_CNT_DROP_BAD_BACKEND].packets == 0);
    CHECK(counters.reasons[JL_CNT_DROP_NO_BACKEND].packets == 0);
}
