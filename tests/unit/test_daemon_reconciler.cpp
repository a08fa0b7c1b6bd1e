// The reconciler: one entry (plan -> diff -> apply -> report), bursts coalesced,
// synchronous callers committing only what was applied, presumed-up backends.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "daemon/reconciler.h"
#include "plan_test_support.h"

using namespace julier;
using namespace julier::plan_test;
using daemon::DesiredState;
using daemon::Reconciler;

namespace {

struct Harness {
    boost::asio::io_context io;
    metrics::Metrics metrics;
    std::vector<std::string> committed;  // reasons, in commit order
    std::atomic<int> writes{0};
    Reconciler reconciler{io, metrics, [this](const std::string& reason) { committed.push_back(reason); }};

    Harness() {
        reconciler.set_writer([this](const plan::Plan&) {
            ++writes;
            return dataplane::ApplyResult{};
        });
    }

    // Runs the loop long enough for the worker's runs to finish and be committed
    // (the loop may run dry while a worker still plans).
    void settle() {
        for (int i = 0; i < 30; ++i) {
            io.restart();
            io.run_for(std::chrono::milliseconds(10));
            if (io.stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
};

config::Catalogue web_catalogue() {
    auto web = service("web", "198.19.0.1", 80, {backend("198.18.0.20"), backend("198.18.0.21")});
    web.health.kind = config::HealthKind::tcp;
    return catalogue({web});
}

std::unique_ptr<neigh::Resolver> resolver_for(const config::Catalogue& cat) {
    auto resolver = std::make_unique<neigh::StaticResolver>();
    for (const auto& address : plan::backend_addresses(cat)) resolver->set(address, direct(address));
    return resolver;
}

}  // namespace

TEST_CASE("reconciler: a synchronous reconcile commits what it applied, a failed one nothing", "[daemon][reconciler]") {
    Harness h;
    const auto cat = web_catalogue();
    h.reconciler.reconcile_now(DesiredState{cat, {}}, "start");
    CHECK(h.reconciler.applied());
    CHECK(h.writes == 1);
    REQUIRE(h.reconciler.plan().find("web") != nullptr);
    CHECK(h.committed == std::vector<std::string>{"start"});

    auto too_many = cat;
    too_many.limits.max_services = 0;
    CHECK_THROWS_AS(h.reconciler.reconcile_now(DesiredState{too_many, {}}, "reload"), std::runtime_error);
    CHECK(h.reconciler.desired().catalogue.limits.max_services == cat.limits.max_services);

    h.reconciler.set_writer([](const plan::Plan&) -> dataplane::ApplyResult { throw std::runtime_error("map full"); });
    auto renamed = cat;
    renamed.services[0].port = 8080;
    CHECK_THROWS_WITH(h.reconciler.reconcile_now(DesiredState{renamed, {}}, "reload"), "map full");
    CHECK(h.reconciler.desired().catalogue.services[0].port == 80);
    CHECK(h.reconciler.plan().services[0].key.port == 80);
    CHECK(h.committed == std::vector<std::string>{"start"});
}

TEST_CASE("reconciler: a burst of requests ends in one run, requests during a run in one more",
          "[daemon][reconciler]") {
    Harness h;
    h.reconciler.reconcile_now(DesiredState{web_catalogue(), {}}, "start");

    h.reconciler.request("health a");
    h.reconciler.request("health b");
    h.reconciler.request("health c");
    h.settle();
    CHECK(h.committed == std::vector<std::string>{"start", "health a"});
    CHECK(h.writes == 1);  // the plan did not change: nothing written

    h.reconciler.request("slow start");
    h.io.restart();
    h.io.poll_one();  // the run starts on the worker; its result waits for the loop
    h.reconciler.request("health d");
    h.reconciler.request("health e");
    h.settle();
    CHECK(h.committed == std::vector<std::string>{"start", "health a", "slow start", "health e"});

    // wait() commits a running reconcile and the one folded into it, without the loop.
    h.reconciler.request("neighbour changed");
    h.io.restart();
    h.io.poll_one();
    h.reconciler.request("next hop changed");
    h.reconciler.wait();
    CHECK(h.committed.back() == "next hop changed");

    h.reconciler.stop();
    h.reconciler.request("after stop");
    h.settle();
    CHECK(h.committed.back() == "next hop changed");
}

TEST_CASE("reconciler: backends of an adopted forwarder are up until their first verdict", "[daemon][reconciler]") {
    Harness h;
    const auto cat = web_catalogue();
    h.reconciler.set_resolver(resolver_for(cat));
    h.reconciler.resolve_next_hops(plan::backend_addresses(cat), /*wait=*/true);
    h.reconciler.adopt({}, {{"web", ip("198.18.0.20")}, {"web", ip("198.18.0.21")}});
    h.reconciler.presume_until(std::chrono::steady_clock::now() + std::chrono::hours(1));
    h.reconciler.reconcile_now(DesiredState{cat, {}}, "start");
    const auto& web = *h.reconciler.plan().find("web");
    CHECK(find_backend(web, "198.18.0.20").role == plan::BackendRole::in_ring);
    CHECK(find_backend(web, "198.18.0.21").role == plan::BackendRole::in_ring);

    // A verdict (here none yet from the checker: unknown) ends one presumption...
    h.reconciler.verdict_arrived("web", ip("198.18.0.21"));
    h.reconciler.request("health web 198.18.0.21");
    h.settle();
    CHECK(find_backend(*h.reconciler.plan().find("web"), "198.18.0.21").role == plan::BackendRole::pending);
    CHECK(find_backend(*h.reconciler.plan().find("web"), "198.18.0.20").role == plan::BackendRole::in_ring);

    // ...and overdue verdicts end them all.
    h.reconciler.end_presumption();
    h.reconciler.request("first health verdicts overdue");
    h.settle();
    CHECK(find_backend(*h.reconciler.plan().find("web"), "198.18.0.20").role == plan::BackendRole::pending);
    CHECK(h.reconciler.presumed_up() == 0);
}

TEST_CASE("reconciler: a preview plans the candidate and changes nothing", "[daemon][reconciler]") {
    Harness h;
    const auto cat = web_catalogue();
    auto next = cat;
    next.services[0].backends.push_back(backend("198.18.0.22"));
    // The resolver knows the new backend too; the reconciler has not asked for it yet.
    h.reconciler.set_resolver(resolver_for(next));
    h.reconciler.resolve_next_hops(plan::backend_addresses(cat), /*wait=*/true);
    h.reconciler.reconcile_now(DesiredState{cat, {}}, "start");
    const plan::Plan applied = h.reconciler.plan();
    const auto hops = h.reconciler.next_hops();
    const int writes = h.writes;

    const auto preview = h.reconciler.preview(DesiredState{next, {}});
    h.settle();
    // The new backend is resolved for the preview (no verdict yet: pending), and the
    // rest is as the applied plan has it.
    const auto& web = *preview.find("web");
    CHECK(find_backend(web, "198.18.0.22").role == plan::BackendRole::pending);
    CHECK(find_backend(web, "198.18.0.22").problem.empty());
    CHECK(find_backend(web, "198.18.0.20").id == find_backend(*applied.find("web"), "198.18.0.20").id);
    // Nothing changed: no write, no commit, the same desired state, plan and next hops.
    CHECK(h.writes == writes);
    CHECK(h.committed == std::vector<std::string>{"start"});
    CHECK(h.reconciler.plan() == applied);
    CHECK(h.reconciler.desired().catalogue == cat);
    CHECK(h.reconciler.next_hops() == hops);
    CHECK(h.reconciler.next_hops().count(ip("198.18.0.22")) == 0);
}
