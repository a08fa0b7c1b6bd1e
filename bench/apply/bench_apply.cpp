// Time of a catalogue change from plan to live forwarder, through the real control
// code: config text -> Catalogue -> make_plan -> Dataplane::apply on a forwarder
// loaded and pinned under a pin directory of this run's own (not attached: the
// maps and their writes are the same either way).
//
//   apply.cold_1000_services.ms       first plan + apply of 1000 services x 10 backends,
//                                     M = 65537 (a freshly loaded forwarder each round)
//   apply.one_service_of_1000.ms      plan + apply after one backend's weight changed
//
// The catalogue is what julierd would run (health `none`, so every backend is in
// the ring; next hops answered as the resolver would). Each figure is the median of
// its rounds, and the benchmark proves what it timed: the cold apply wrote every
// service, backend and ring slot; a one-backend change rewrote at most one ring and
// the live ring of that service is the planned one.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_cli.h"
#include "config/parse.h"
#include "dataplane/dataplane.h"
#include "plan/plan.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace dp = julier::dataplane;
namespace pl = julier::plan;
using julier::bench::median;

std::size_t kServices = 1000;  // --services (the smoke test of the sanitizer build uses fewer)
constexpr int kBackends = 10;  // per service; the same 10 addresses serve every VIP
constexpr std::uint32_t kRing = 65537;

std::string backend_address(int b) { return fmt::format("198.18.0.{}", 21 + b); }

std::string catalogue_text() {
    std::string t = fmt::format(
        "interfaces: [eth0]\n"
        "limits: {{max_services: {}, max_backends: {}, ring_capacity: {}, max_flows: 65536}}\n"
        "defaults:\n"
        "  forwarding: l2\n"
        "  ring_size: {}\n"
        "  health: {{kind: none}}\n"
        "services:\n",
        kServices, kServices * kBackends + 16, kServices * kRing, kRing);
    for (std::size_t s = 0; s < kServices; s++) {
        t += fmt::format("  - name: s{}\n    vip: 198.19.{}.{}\n    port: 80\n    protocol: tcp\n    backends:\n", s,
                         s / 250, s % 250 + 1);
        for (int b = 0; b < kBackends; b++)
            t += fmt::format("      - {{address: {}, weight: 100}}\n", backend_address(b));
    }
    return t;
}

pl::RuntimeState runtime() {
    pl::RuntimeState r;
    for (int b = 0; b < kBackends; b++) {
        julier::neigh::NextHop hop;
        hop.dst_mac = {0x02, 0, 0, 0, 0, static_cast<std::uint8_t>(0x21 + b)};
        hop.src_mac = {0x02, 0, 0, 0, 0, 0x02};
        hop.ifindex = 2;
        hop.ifname = "eth0";
        r.next_hops[*julier::common::IpAddress::parse(backend_address(b))] = julier::neigh::Resolution{hop, {}};
    }
    return r;
}

// Where this run pins its forwarder; SIGINT/SIGTERM remove it before exiting (the
// run may be inside a plan of minutes under the sanitizers).
std::string g_pin_dir;

extern "C" void on_signal(int sig) {
    try {
        dp::Dataplane::teardown(g_pin_dir);
    } catch (...) {
    }
    _exit(128 + sig);
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Removes the forwarder's pins whatever happens.
struct Forwarder {
    std::unique_ptr<dp::Dataplane> dp;
    explicit Forwarder(const std::string& pin_dir, const julier::config::Limits& l) {
        dp::Options o;
        o.pin_dir = pin_dir;
        o.limits = dp::Limits{l.max_services, l.max_backends, l.ring_capacity, l.max_flows};
        dp = dp::Dataplane::open(o);
        if (dp->adopted()) throw std::runtime_error("found pins of another run under " + pin_dir);
    }
    ~Forwarder() {
        try {
            dp->teardown();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "warning: teardown: %s\n", e.what());
        }
    }
};

struct Timing {
    std::vector<double> plan_ms, write_ms, total_ms;
    void add(double plan, double write) {
        plan_ms.push_back(plan);
        write_ms.push_back(write);
        total_ms.push_back(plan + write);
    }
};

void require(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
}

int run(bool quick, const std::string& json_path) {
    const int cold_rounds = quick ? 1 : 3;
    const int change_rounds = quick ? 3 : 15;
    const std::string pin_dir = fmt::format("/sys/fs/bpf/julier-bench-apply-{}", getpid());
    g_pin_dir = pin_dir;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    auto parsed = julier::config::parse_catalogue_text(catalogue_text(), "bench.yaml");
    if (!parsed.ok()) {
        for (const auto& d : parsed.diagnostics) std::fprintf(stderr, "%s\n", d.message.c_str());
        throw std::runtime_error("the benchmark's catalogue does not validate");
    }
    julier::config::Catalogue catalogue = *parsed.catalogue;
    const pl::RuntimeState rt = runtime();

    Timing cold, change;
    std::vector<double> change_waited_ms;  // of write_ms: the quiescence barrier before writing
    std::size_t changed_slots_max = 0;
    for (int round = 0; round < cold_rounds; round++) {
        auto t_open = Clock::now();
        Forwarder f(pin_dir, catalogue.limits);
        const double open_ms = ms_since(t_open);
        auto t0 = Clock::now();
        pl::Plan plan = pl::make_plan(catalogue, rt);
        double plan_ms = ms_since(t0);
        auto t1 = Clock::now();
        dp::ApplyResult r = f.dp->apply(plan);
        double write_ms = ms_since(t1);
        cold.add(plan_ms, write_ms);
        std::printf("cold round %d: load %.0f ms, plan %.0f ms, write %.0f ms\n", round + 1, open_ms, plan_ms,
                    write_ms);
        std::fflush(stdout);
        require(r.generation == 1, fmt::format("cold apply: generation {}, expected 1", r.generation));
        require(r.services_written == kServices && r.backends_written == kServices * kBackends &&
                    r.ring_slots_written == std::size_t{kServices} * kRing,
                fmt::format("cold apply wrote {} services, {} backends, {} ring slots; expected {}, {}, {}",
                            r.services_written, r.backends_written, r.ring_slots_written, kServices,
                            kServices * kBackends, std::size_t{kServices} * kRing));
        require(f.dp->live_state().services.size() == kServices, "cold apply: live services differ");

        if (round + 1 < cold_rounds) continue;
        // The last forwarder stays for the changes. The other side is still empty and
        // gets the whole catalogue once, as in julierd's second apply: not timed.
        pl::Plan prev = pl::make_plan(catalogue, rt, plan);
        require(f.dp->apply(prev).generation == 2, "second apply: generation is not 2");
        // Each round changes one backend's weight on a cycle of three, so the side
        // being written (two generations old) always differs from the new plan.
        const std::uint32_t weights[] = {60, 30, 100};
        for (int c = 0; c < change_rounds; c++) {
            const std::size_t s = (static_cast<std::size_t>(c) * 7) % kServices;
            catalogue.services[s].backends[3].weight = weights[c % 3];
            auto t2 = Clock::now();
            pl::Plan next = pl::make_plan(catalogue, rt, prev);  // as julierd: unchanged rings reused
            double p_ms = ms_since(t2);
            auto t3 = Clock::now();
            dp::ApplyResult cr = f.dp->apply(next);
            double w_ms = ms_since(t3);
            change.add(p_ms, w_ms);
            change_waited_ms.push_back(std::chrono::duration<double, std::milli>(cr.waited).count());
            // Proof: one ring was rewritten, not more, and it is live as planned.
            require(!cr.full_write, "change: the side was written whole");
            require(cr.ring_slots_written > 0 && cr.ring_slots_written <= 2 * kRing,
                    fmt::format("change {}: {} ring slots written; expected 1..{} (one service, two generations)", c,
                                cr.ring_slots_written, 2 * kRing));
            changed_slots_max = std::max(changed_slots_max, cr.ring_slots_written);
            const pl::PlannedService* ps = next.find(fmt::format("s{}", s));
            require(ps != nullptr, "change: service missing from the plan");
            auto live = f.dp->live_state();
            const auto it = std::find_if(live.services.begin(), live.services.end(),
                                         [&](const dp::LiveService& l) { return l.vip.service_id == ps->id; });
            require(it != live.services.end(), "change: service not live");
            require(f.dp->read_ring(live.side, it->vip.ring_offset, it->vip.ring_size) == ps->ring,
                    fmt::format("change {}: the live ring of s{} is not the planned one", c, s));
            prev = std::move(next);
        }
    }

    nlohmann::json out = nlohmann::json::object();
    out["apply.cold_1000_services.ms"] = median(cold.total_ms);
    out["apply.cold_1000_services.plan_ms"] = median(cold.plan_ms);
    out["apply.cold_1000_services.write_ms"] = median(cold.write_ms);
    out["apply.one_service_of_1000.ms"] = median(change.total_ms);
    out["apply.one_service_of_1000.plan_ms"] = median(change.plan_ms);
    out["apply.one_service_of_1000.write_ms"] = median(change.write_ms);
    out["apply.one_service_of_1000.waited_ms"] = median(change_waited_ms);
    out["apply.services"] = kServices;
    std::printf("%zu services x %d backends, M = %u; medians of %d cold and %d change rounds\n\n", kServices, kBackends,
                kRing, cold_rounds, change_rounds);
    std::printf("%-28s %10s %10s %10s   %s\n", "figure", "total ms", "plan ms", "write ms", "proof");
    std::printf("%-28s %10.1f %10.1f %10.1f   %s\n", "apply.cold_1000_services", median(cold.total_ms),
                median(cold.plan_ms), median(cold.write_ms), "every service, backend and slot written");
    std::printf("%-28s %10.1f %10.1f %10.1f   %s\n", "apply.one_service_of_1000", median(change.total_ms),
                median(change.plan_ms), median(change.write_ms),
                fmt::format("<= {} slots written, live ring = plan", changed_slots_max).c_str());
    std::printf("(write ms of a change includes %.1f ms waiting for the retired side's readers)\n",
                median(change_waited_ms));
    julier::bench::write_figures(out, json_path);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Time of a catalogue change from plan to live forwarder (1000 services)"};
    julier::bench::Options options;
    julier::bench::add_options(app, options, "fewer rounds");
    // The smoke test of the sanitizer build sets JULIER_BENCH_SERVICES: a 1000-service
    // apply takes minutes there. The figures' names still say 1000; apply.services says
    // how many there were.
    if (const char* env = std::getenv("JULIER_BENCH_SERVICES")) kServices = std::strtoul(env, nullptr, 10);
    app.add_option("--services", kServices, "services in the catalogue (for smoke tests only)")
        ->check(CLI::Range(10, 1000));
    CLI11_PARSE(app, argc, argv);
    return julier::bench::run([&] { return run(options.quick, options.json_path); }, "loads and pins the forwarder");
}
