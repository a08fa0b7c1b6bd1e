// julier_pktfuzz: random and mutated frames through the forwarder with
// BPF_PROG_TEST_RUN, every result checked against the invariants of checker.h.
//
//   julier_pktfuzz --seed 1 --frames 100000      # reproducible run
//   julier_pktfuzz --seed time --seconds 60      # a new seed, printed
//   julier_pktfuzz --seed 1 --index 4711         # frame 4711 of seed 1 alone
//   julier_pktfuzz --replay pktfuzz-1-4711.hex   # one saved frame (or hex text)
//
// A failure prints the seed, the frame index and the frame in hex, and saves the
// frame to --save-dir. Exit status: 0 all held, 1 a failure, 2 a usage error.
#include <CLI/CLI.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <iostream>
#include <sstream>
#include <string>

#include "generator.h"
#include "runner.h"

using namespace julier::fuzz;
using julier::test::Bytes;

namespace {

struct Tally {
    uint64_t frames = 0, rejected = 0, failures = 0;
    std::array<uint64_t, 5> verdicts{};  // XDP_ABORTED .. XDP_REDIRECT
};

std::string verdict_of(int rc, const Outcome& o) {
    if (rc) return std::string("refused by the kernel (") + std::strerror(-rc) + ")";
    return julier::test::verdict_name(o.verdict);
}

std::string moved_counter(const Outcome& o) {
    std::string s;
    for (uint32_t c = 0; c < JL_CNT_COUNT; c++)
        if (o.delta[c].packets) s += std::string(s.empty() ? "" : ",") + counter_label(jl_counter(c));
    return s.empty() ? "none" : s;
}

// The checks of one run, the kernel's refusals included: frames shorter than
// Ethernet or longer than the largest test-run frame must be refused, nothing counted.
// The program sees the first buffer of a frame.
std::span<const uint8_t> seen(const Runner& runner, std::span<const uint8_t> f) {
    return f.first(std::min(f.size(), runner.linear_frame()));
}

// One run, with the connection table entry of the frame's flow read around it.
int run(Runner& runner, const Checker& checker, std::span<const uint8_t> f, Outcome& o) {
    Expectation e = checker.expect(seen(runner, f));
    return runner.run(f, o, e.flow ? &*e.flow : nullptr);
}

// jl_service_stats and jl_backend_stats as the runs so far must have left them.
struct StatsModel {
    std::map<uint32_t, jl_service_traffic> services;
    std::map<uint32_t, jl_backend_traffic> backends;

    // Count a delivery; "" if the two entries it touched read as counted.
    std::string add(const Runner& runner, const Checker::Delivery& d, uint64_t bytes) {
        auto& s = services[d.service_id];
        auto& b = backends[uint32_t(d.backend)];
        s.packets++, s.bytes += bytes, s.new_flows += d.new_flow, s.nonsyn_miss += d.nonsyn_miss;
        b.packets++, b.bytes += bytes, b.new_flows += d.new_flow;
        if (d.either_count) {  // the counters say which of the two it was
            if (runner.service_stats(d.service_id).new_flows == s.new_flows + 1) {
                s.new_flows++;
                b.new_flows++;
            } else {
                s.nonsyn_miss++;
            }
        }
        return compare(runner, d.service_id, uint32_t(d.backend));
    }
    std::string compare(const Runner& runner, uint32_t service, uint32_t backend) {
        std::ostringstream err;
        auto s = runner.service_stats(service);
        auto& ws = services[service];
        if (s.packets != ws.packets || s.bytes != ws.bytes || s.new_flows != ws.new_flows ||
            s.nonsyn_miss != ws.nonsyn_miss)
            err << "jl_service_stats[" << service << "] reads " << s.packets << " packets, " << s.bytes << " bytes, "
                << s.new_flows << " new flows, " << s.nonsyn_miss << " nonsyn misses; want " << ws.packets << ", "
                << ws.bytes << ", " << ws.new_flows << ", " << ws.nonsyn_miss << "\n";
        auto b = runner.backend_stats(backend);
        auto& wb = backends[backend];
        if (b.packets != wb.packets || b.bytes != wb.bytes || b.new_flows != wb.new_flows)
            err << "jl_backend_stats[" << backend << "] reads " << b.packets << " packets, " << b.bytes << " bytes, "
                << b.new_flows << " new flows; want " << wb.packets << ", " << wb.bytes << ", " << wb.new_flows << "\n";
        return err.str();
    }
    // Every service and backend of the catalogue (also those no run should have touched).
    std::string compare_all(const Runner& runner) {
        std::string err;
        for (const Service& s : runner.catalogue().services()) {
            std::vector<uint32_t> ids = s.backend_ids;
            ids.insert(ids.end(), s.down.begin(), s.down.end());
            ids.push_back(s.spec.first_backend + 9);  // no backend at all
            for (uint32_t id : ids) err += compare(runner, s.spec.service_id, id);
        }
        return err;
    }
};

std::string judge(const Runner& runner, const Checker& checker, std::span<const uint8_t> f, int rc, const Outcome& o,
                  StatsModel* stats = nullptr) {
    bool refusable = f.size() < 14 || f.size() > runner.max_frame();
    if (rc == 0 && !refusable) {
        Checker::Delivery d;
        std::string err = checker.check(f, o, &d);
        if (stats && d.backend >= 0) err += stats->add(runner, d, seen(runner, f).size());
        return err;
    }
    std::string err;
    if (rc == 0)
        err += "a " + std::to_string(f.size()) + "-byte frame was run; the kernel should refuse it\n";
    else if (!refusable)
        err += "the kernel refused a " + std::to_string(f.size()) + "-byte frame: " + std::strerror(-rc) + "\n";
    for (uint32_t c = 0; c < JL_CNT_COUNT && rc; c++)
        if (o.delta[c].packets || o.delta[c].bytes)
            err += std::string("counter ") + counter_label(jl_counter(c)) + " moved on a refused run\n";
    return err;
}

Bytes read_replay(const std::string& arg) {
    std::ifstream in(arg);
    if (!in) return julier::test::from_hex(arg);
    std::string line, hex;
    while (std::getline(in, line))
        if (!line.empty() && line[0] != '#') hex += line;
    return julier::test::from_hex(hex);
}

void describe(const Runner& runner, const Bytes& f, int rc, const Outcome& o) {
    Checker checker(runner.catalogue(), runner.linear_frame());
    Expectation e = checker.expect(seen(runner, f));
    bool refusable = f.size() < 14 || f.size() > runner.max_frame();
    std::cout << "frame (" << f.size() << " bytes): " << julier::test::to_hex(f) << "\n"
              << "verdict: " << verdict_of(rc, o) << ", counted as " << moved_counter(o) << "\n"
              << "expected: " << (refusable ? "refused by the kernel" : counter_label(e.counter)) << "\n";
    if (rc == 0 && o.verdict != XDP_DROP)
        std::cout << "output (" << o.out.size() << " bytes): " << julier::test::to_hex(o.out) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Packet fuzzer of the julier forwarder (BPF_PROG_TEST_RUN; root)"};
    std::string seed_text = "1", replay, save_dir = ".";
    uint64_t frames = 0, index = 0;
    double seconds = 0;
    unsigned max_failures = 10;
    bool quiet = false;
    app.add_option("--seed", seed_text, "seed (a number, or `time` for one derived from the clock)");
    auto* frames_opt = app.add_option("--frames", frames, "frames to run");
    auto* seconds_opt = app.add_option("--seconds", seconds, "run for this long");
    auto* index_opt = app.add_option("--index", index, "run only frame INDEX of the seed, and show it");
    app.add_option(
        "--replay", replay,
        "run one frame: a file written by a failure, or hex text (give the run's --seed: it varies the catalogue)");
    app.add_option("--save-dir", save_dir, "where failing frames are saved");
    app.add_option("--max-failures", max_failures, "stop after this many failures");
    app.add_flag("--quiet", quiet, "only the summary");
    CLI11_PARSE(app, argc, argv);

    // A saved frame names the seed of its run (which varies the catalogue).
    if (!replay.empty() && !app.get_option("--seed")->count()) {
        std::ifstream in(replay);
        std::string word;
        while (in >> word)
            if (word == "--seed" && in >> seed_text) break;
    }
    uint64_t seed = 0;
    bool timed = seed_text == "time";
    if (timed)
        seed = uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
    else {
        try {
            seed = std::stoull(seed_text, nullptr, 0);
        } catch (const std::exception&) {
            std::cerr << "--seed: not a number: " << seed_text << "\n";
            return 2;
        }
    }

    Runner runner(seed);  // the seed also varies the catalogue
    Checker checker(runner.catalogue(), runner.linear_frame());
    Generator gen(runner.catalogue(), runner.linear_frame(), runner.max_frame());

    if (!replay.empty() || index_opt->count()) {
        Bytes f = replay.empty() ? gen.frame(seed, index) : read_replay(replay);
        if (replay.empty())
            std::cout << "seed " << seed << " index " << index << " category " << category_name(gen.category(index))
                      << "\n";
        Outcome o;
        int rc = run(runner, checker, f, o);
        describe(runner, f, rc, o);
        std::string err = judge(runner, checker, f, rc, o);
        std::cout << (err.empty() ? "every invariant holds\n" : "FAILED:\n" + err);
        return err.empty() ? 0 : 1;
    }
    if (!frames_opt->count() && !seconds_opt->count()) frames = 10000;

    std::cout << "pktfuzz: seed " << seed << (timed ? " (from the clock)" : "") << "; test-run frames: up to "
              << runner.linear_frame() << " bytes in one buffer, up to " << runner.max_frame() << " in all; "
              << runner.catalogue().services().size() << " services\n"
              << std::flush;
    std::array<Tally, kCategories> tally{};
    std::array<uint64_t, JL_CNT_COUNT> counted{};
    uint64_t failures = 0, n = 0, with_entry = 0;  // with_entry: sent with a connection table entry present
    StatsModel stats;
    auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    for (;; n++) {
        if (frames_opt->count() && n >= frames) break;
        if (seconds_opt->count() && (n & 255) == 0 && elapsed() >= seconds) break;
        Category c = gen.category(n);
        Bytes f = gen.frame(seed, n);
        // Flip the live side now and then: both sides hold the same catalogue.
        if (n % 4096 == 0) {
            runner.set_generation(uint32_t(n / 4096));
            runner.seed_flows();  // the LRU table has evicted them by now
        }
        Outcome o;
        int rc = run(runner, checker, f, o);
        Tally& t = tally[size_t(c)];
        t.frames++;
        if (rc)
            t.rejected++;
        else if (o.verdict >= 0 && o.verdict < 5)
            t.verdicts[size_t(o.verdict)]++;
        for (uint32_t k = 0; k < JL_CNT_COUNT; k++) counted[k] += o.delta[k].packets;
        if (o.flow_before && (o.verdict == XDP_TX || o.verdict == XDP_REDIRECT)) with_entry++;
        std::string err = judge(runner, checker, f, rc, o, &stats);
        if (err.empty()) continue;
        t.failures++;
        failures++;
        std::ostringstream name;
        name << save_dir << "/pktfuzz-" << seed << "-" << n << ".hex";
        std::ofstream(name.str()) << "# julier_pktfuzz --seed " << seed << " --index " << n << ", category "
                                  << category_name(c) << "\n"
                                  << julier::test::to_hex(f) << "\n";
        std::cout << "FAIL seed " << seed << " index " << n << " category " << category_name(c) << " (" << f.size()
                  << " bytes), " << verdict_of(rc, o) << " counted as " << moved_counter(o) << "\n"
                  << err << "frame: " << julier::test::to_hex(f) << "\n"
                  << "saved to " << name.str() << "; replay: julier_pktfuzz --seed " << seed << " --replay "
                  << name.str() << " (or --seed " << seed << " --index " << n << ")\n"
                  << std::flush;
        if (failures >= max_failures) {
            n++;
            break;
        }
    }
    double secs = elapsed();
    if (std::string err = stats.compare_all(runner); !err.empty()) {
        failures++;
        std::cout << "FAIL per-service / per-backend counters after " << n << " frames of seed " << seed << ":\n"
                  << err;
    }

    std::printf("%-18s %10s %9s %9s %9s %9s %8s %8s\n", "category", "frames", "pass", "drop", "tx", "redirect",
                "refused", "failed");
    Tally all;
    for (size_t c = 0; c < kCategories; c++) {
        const Tally& t = tally[c];
        std::printf("%-18s %10lu %9lu %9lu %9lu %9lu %8lu %8lu\n", std::string(category_name(Category(c))).c_str(),
                    t.frames, t.verdicts[XDP_PASS], t.verdicts[XDP_DROP], t.verdicts[XDP_TX], t.verdicts[XDP_REDIRECT],
                    t.rejected, t.failures);
        all.frames += t.frames, all.rejected += t.rejected, all.failures += t.failures;
        for (size_t v = 0; v < 5; v++) all.verdicts[v] += t.verdicts[v];
    }
    std::printf("%-18s %10lu %9lu %9lu %9lu %9lu %8lu %8lu\n", "total", all.frames, all.verdicts[XDP_PASS],
                all.verdicts[XDP_DROP], all.verdicts[XDP_TX], all.verdicts[XDP_REDIRECT], all.rejected, all.failures);
    if (!quiet) {
        std::printf("counters:");
        for (uint32_t k = 0; k < JL_CNT_COUNT; k++) std::printf(" %s=%lu", counter_label(jl_counter(k)), counted[k]);
        std::printf("\nsent with a connection table entry present: %lu\n", with_entry);
    }
    std::printf("pktfuzz: seed %lu: %lu frames in %.1f s (%.0f frames/s), %lu failures\n", seed, n, secs,
                secs > 0 ? double(n) / secs : 0.0, failures);
    return failures ? 1 : 0;
}
