// Per-packet cost of the forwarder on its idempotent paths, timed with
// BPF_PROG_TEST_RUN and a large repeat count, as a ratio to a trivial XDP_TX program
// timed in the same run (absolute times on a shared 2-core machine drift between runs).
//
// A repeated test run feeds each run the frame the previous run left behind, so only
// paths that leave the frame as they found it (pass) or rewrite it to the same bytes
// (l2 MAC rewrite) can be timed this way. The benchmark proves which path it timed:
// the forwarder's own counters must have grown by exactly rounds * repeat on that
// path's counter and on nothing else, or it fails.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_cli.h"
#include "harness.h"
#include "julier_bench_trivial_tx.skel.h"
#include "packet.h"

using namespace julier::test;
using julier::bench::median;

namespace {

const Mac kRouterMac = mac("02:00:00:00:00:01");
const Mac kLbMac = mac("02:00:00:00:00:02");
const Mac kBackendMac = mac("02:00:00:00:00:20");
constexpr uint16_t kClientPort = 40000;
constexpr size_t kPayload = 10;  // an IPv4 frame of 64 bytes

// A TCP ACK from the client; the forwarder must send exactly this with new MACs.
Bytes client_frame(const Mac& dst, const Mac& src, const char* client, const char* server) {
    Packet p;
    p.eth(dst, src);
    if (std::string_view(client).find(':') != std::string_view::npos)
        p.ipv6(client, server);
    else
        p.ipv4(client, server).df();
    return p.tcp(kClientPort, 80).flags(kTcpAck).seq(1).ack(1).payload_size(kPayload).build();
}

// The forwarder's view of one path: its counters and one backend's and service's.
struct Snapshot {
    std::array<jl_traffic, JL_CNT_COUNT> counters{};
    jl_backend_traffic backend{};
    jl_service_traffic service{};
};

struct Path {
    std::string key;
    int prog_fd = -1;
    Bytes frame;
    int verdict = XDP_PASS;  // of every run
    Bytes output;            // of one run on `frame`
    // Forwarder paths: the counter that must take every run, and for forwarding the
    // backend and service that must see them (without a new flow: established).
    std::optional<jl_counter> counter;
    std::optional<uint32_t> backend_id, service_id;

    std::vector<double> cpu_ns, kernel_ns;
    Snapshot growth;
};

Snapshot snapshot(const LbHarness& lb, const Path& p) {
    Snapshot s;
    s.counters = lb.counters();
    if (p.backend_id) s.backend = lb.backend_stats(*p.backend_id);
    if (p.service_id) s.service = lb.service_stats(*p.service_id);
    return s;
}

void add_growth(Snapshot& g, const Snapshot& before, const Snapshot& after) {
    for (size_t c = 0; c < JL_CNT_COUNT; c++)
        g.counters[c].packets += after.counters[c].packets - before.counters[c].packets;
    g.backend.packets += after.backend.packets - before.backend.packets;
    g.service.packets += after.service.packets - before.service.packets;
    g.service.new_flows += after.service.new_flows - before.service.new_flows;
    g.service.nonsyn_miss += after.service.nonsyn_miss - before.service.nonsyn_miss;
}

// CPU time of this thread: the test run executes in our syscall, and unlike wall
// time this leaves out the time other tasks get while the kernel yields (cond_resched)
// on a busy machine. Fractional per packet, unlike the kernel's integer mean.
double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// One run must give the verdict and bytes the path promises; the errors say which.
std::vector<std::string> check_one_run(const Path& p) {
    std::vector<std::string> errors;
    XdpResult r = run_xdp(p.prog_fd, p.frame);
    if (r.verdict != p.verdict)
        errors.push_back(
            fmt::format("{}: verdict {}, expected {}", p.key, verdict_name(r.verdict), verdict_name(p.verdict)));
    if (std::string d = hex_diff(p.output, r.data); !d.empty())
        errors.push_back(fmt::format("{}: output frame is not the expected one:\n{}", p.key, d));
    return errors;
}

// What the forwarder's counters say about the timed runs of a path.
std::vector<std::string> check_growth(const Path& p, uint64_t runs) {
    std::vector<std::string> errors;
    if (!p.counter) return errors;
    uint64_t total = 0;
    for (size_t c = 0; c < JL_CNT_COUNT; c++) {
        uint64_t grew = p.growth.counters[c].packets;
        total += grew;
        if (c == *p.counter && grew != runs)
            errors.push_back(fmt::format("{}: {} grew by {}, expected exactly {} (rounds * repeat)", p.key,
                                         counter_name(static_cast<jl_counter>(c)), grew, runs));
        else if (c != *p.counter && grew != 0)
            errors.push_back(fmt::format("{}: {} grew by {}; the timed runs took another path", p.key,
                                         counter_name(static_cast<jl_counter>(c)), grew));
    }
    if (total != runs) errors.push_back(fmt::format("{}: counted {} verdicts for {} runs", p.key, total, runs));
    if (p.backend_id && p.growth.backend.packets != runs)
        errors.push_back(fmt::format("{}: backend {} counted {} packets, expected {}", p.key, *p.backend_id,
                                     p.growth.backend.packets, runs));
    if (p.service_id && p.growth.service.new_flows + p.growth.service.nonsyn_miss != 0)
        errors.push_back(fmt::format(
            "{}: {} new flows and {} non-SYN misses during the timed runs; the path was not the established one", p.key,
            p.growth.service.new_flows, p.growth.service.nonsyn_miss));
    return errors;
}

struct TrivialDeleter {
    void operator()(julier_bench_trivial_tx* s) const { julier_bench_trivial_tx__destroy(s); }
};

// One l2 service with a one-backend ring; the flow is established by one packet.
void add_l2_service(LbHarness& lb, const char* vip_addr, uint32_t service_id, uint32_t ring_offset, uint32_t backend_id,
                    const char* backend_addr) {
    jl_vip vip{};
    vip.service_id = service_id;
    vip.ring_offset = ring_offset;
    vip.mode = JL_MODE_L2;
    vip.outer_ttl = JL_DEFAULT_OUTER_TTL;
    vip.mtu = JL_DEFAULT_MTU;
    const std::vector<uint32_t> ring(7, backend_id);  // M = 7, prime
    lb.put_service(vip_key(vip_addr, 80, IPPROTO_TCP), vip, ring);
    lb.filter_add(0, vip_addr);  // as julierd does, so non-VIP traffic skips the lookups
    lb.put_backend(0, backend_id, backend(service_id, backend_addr, kBackendMac));
}

int run(bool quick, const std::string& json_path) {
    const int rounds = quick ? 5 : 21;
    const uint32_t repeat = quick ? 100'000 : 1'000'000;
    const uint64_t runs = static_cast<uint64_t>(rounds) * repeat;

    std::unique_ptr<julier_bench_trivial_tx, TrivialDeleter> trivial(julier_bench_trivial_tx__open_and_load());
    if (!trivial) bpf_fail("loading the trivial XDP_TX program", errno);

    LbHarness lb;
    lb.set_active(0);
    add_l2_service(lb, "198.19.0.1", 1, 0, 3, "198.18.0.20");
    add_l2_service(lb, "2001:db8:1::1", 2, 7, 4, "2001:db8::20");

    std::vector<Path> paths;
    {
        Path p;
        p.key = "trivial_xdp_tx";
        p.prog_fd = bpf_program__fd(trivial->progs.julier_bench_trivial_tx);
        p.frame = client_frame(kLbMac, kRouterMac, "198.18.0.10", "198.19.0.1");
        p.verdict = XDP_TX;
        p.output = client_frame(kRouterMac, kLbMac, "198.18.0.10", "198.19.0.1");
        paths.push_back(p);
    }
    auto forward = [&](const char* key, const char* client, const char* vip, uint32_t backend_id, uint32_t service_id) {
        Path p;
        p.key = key;
        p.prog_fd = lb.prog_fd();
        p.frame = client_frame(kLbMac, kRouterMac, client, vip);
        p.verdict = XDP_TX;
        // l2 mode: only the MACs change; the source becomes the address we were sent to.
        p.output = client_frame(kBackendMac, kLbMac, client, vip);
        p.counter = JL_CNT_TX_FORWARD;
        p.backend_id = backend_id;
        p.service_id = service_id;
        paths.push_back(p);
    };
    forward("v4_tcp_l2_established", "198.18.0.10", "198.19.0.1", 3, 1);
    forward("v6_tcp_l2_established", "2001:db8::10", "2001:db8:1::1", 4, 2);
    {
        Path p;
        p.key = "non_vip_pass";
        p.prog_fd = lb.prog_fd();
        p.frame = client_frame(kLbMac, kRouterMac, "198.18.0.10", "198.18.0.99");
        p.verdict = XDP_PASS;
        p.output = p.frame;
        p.counter = JL_CNT_PASS_NOT_VIP;
        paths.push_back(p);
    }

    // One run of each: the right verdict and bytes, and for the forward paths the
    // flow they establish (the timed runs must then find it: no new flow).
    std::vector<std::string> errors;
    for (const Path& p : paths) {
        auto e = check_one_run(p);
        errors.insert(errors.end(), e.begin(), e.end());
    }
    for (const auto& [key, client, vip, backend_id] :
         {std::tuple{"v4_tcp_l2_established", "198.18.0.10", "198.19.0.1", 3u},
          std::tuple{"v6_tcp_l2_established", "2001:db8::10", "2001:db8:1::1", 4u}}) {
        auto f = lb.flow(flow_key(client, vip, kClientPort, 80, IPPROTO_TCP));
        if (!f || f->backend_id != backend_id)
            errors.push_back(
                fmt::format("{}: the first packet left no flow to backend {} in jl_flows", key, backend_id));
    }

    if (errors.empty()) {
        // Paths interleave within a round, so drift over the run hits them alike. Each
        // round is two test runs of a short and a long series: the difference of their
        // times is free of the fixed cost of one BPF_PROG_TEST_RUN call (copying the
        // frame, swapping the XDP dispatcher), which would otherwise weigh most on the
        // cheapest program.
        const uint32_t short_series = repeat / 5, long_series = repeat - short_series;
        for (int round = 0; round < rounds; round++) {
            for (Path& p : paths) {
                Snapshot before = snapshot(lb, p);
                double t0 = thread_cpu_ns();
                XdpResult a = run_xdp(p.prog_fd, p.frame, short_series);
                double t1 = thread_cpu_ns();
                XdpResult b = run_xdp(p.prog_fd, p.frame, long_series);
                double t2 = thread_cpu_ns();
                add_growth(p.growth, before, snapshot(lb, p));
                for (const XdpResult* r : {&a, &b})
                    if (r->verdict != p.verdict)
                        errors.push_back(fmt::format("{}: round {} ended with {}, expected {}", p.key, round,
                                                     verdict_name(r->verdict), verdict_name(p.verdict)));
                p.cpu_ns.push_back(((t2 - t1) - (t1 - t0)) / (long_series - short_series));
                p.kernel_ns.push_back(b.ns_per_run);
            }
        }
        for (const Path& p : paths) {
            auto e = check_growth(p, runs);
            errors.insert(errors.end(), e.begin(), e.end());
        }
    }
    if (!errors.empty()) {
        for (const auto& e : errors) std::fprintf(stderr, "error: %s\n", e.c_str());
        return 1;
    }

    const double trivial_ns = median(paths.front().cpu_ns);
    nlohmann::json out = nlohmann::json::object();
    std::printf("BPF_PROG_TEST_RUN, %d rounds x %u runs, %zu-byte IPv4 / %zu-byte IPv6 frames\n\n", rounds, repeat,
                paths[1].frame.size(), paths[2].frame.size());
    std::printf("%-24s %12s %11s %10s   %s\n", "path", "ns/packet", "kernel ns", "ratio", "proof");
    for (const Path& p : paths) {
        double ns = median(p.cpu_ns);
        double ratio = ns / trivial_ns;
        out["dataplane." + p.key + ".ns_per_pkt"] = ns;
        if (&p != &paths.front()) out["dataplane." + p.key + ".ratio_to_trivial"] = ratio;
        std::string proof = p.counter ? fmt::format("{} +{}", counter_name(*p.counter), runs)
                                      : fmt::format("{} every run", verdict_name(p.verdict));
        if (p.service_id) proof += ", 0 new flows";
        std::printf("%-24s %12.2f %11.0f %10.3f   %s\n", p.key.c_str(), ns, median(p.kernel_ns), ratio, proof.c_str());
    }
    std::printf(
        "\nns/packet: median over rounds of this thread's CPU time per run (long series\n"
        "minus short series); kernel ns: the kernel's own integer mean, for comparison;\n"
        "ratio: ns/packet over the trivial program's.\n");

    julier::bench::write_figures(out, json_path);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Per-packet cost of the forwarder's idempotent paths (BPF_PROG_TEST_RUN)"};
    julier::bench::Options options;
    julier::bench::add_options(app, options, "fewer rounds and runs");
    CLI11_PARSE(app, argc, argv);
    return julier::bench::run([&] { return run(options.quick, options.json_path); },
                              "loads BPF programs and runs BPF_PROG_TEST_RUN");
}
