// Times Maglev table generation and measures its balance and churn. Speed is also
// reported as a ratio to a textbook implementation timed in the same run, because
// absolute times on a shared 2-core machine vary between runs.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_cli.h"
#include "maglev/maglev.h"

namespace mg = julier::maglev;
using julier::bench::median;

namespace {

struct BackendSet {
    std::vector<std::string> names;
    std::vector<mg::Backend> backends;
};

BackendSet make_backends(std::size_t n, bool mixed_weights) {
    BackendSet set;
    set.names.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        set.names.push_back(fmt::format("198.18.{}.{}", (i / 250) % 256, i % 250 + 1));
    }
    for (std::size_t i = 0; i < n; ++i) {
        // Mixed: weights 1..1000 spread by a fixed pattern, so heavy and light interleave.
        const std::uint32_t weight = mixed_weights ? static_cast<std::uint32_t>(1 + (i * 7919) % 1000) : 100;
        set.backends.push_back(mg::Backend{set.names[i], weight});
    }
    return set;
}

// The paper's populate loop, as most implementations write it: a modulo per probe
// and the int table itself as the occupancy test. Equal weights only; same hash
// and identity order as the library, so its table must come out identical.
std::vector<std::int32_t> textbook_table(const std::vector<mg::Backend>& backends, std::uint32_t m) {
    std::vector<std::size_t> order(backends.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return backends[a].identity < backends[b].identity; });
    std::vector<std::uint64_t> offset(order.size()), skip(order.size()), next(order.size(), 0);
    for (std::size_t k = 0; k < order.size(); ++k) {
        offset[k] = mg::siphash24(mg::kOffsetKey, backends[order[k]].identity) % m;
        skip[k] = mg::siphash24(mg::kSkipKey, backends[order[k]].identity) % (m - 1) + 1;
    }
    std::vector<std::int32_t> entry(m, -1);
    std::uint32_t filled = 0;
    for (;;) {
        for (std::size_t k = 0; k < order.size(); ++k) {
            std::uint64_t c = (offset[k] + next[k] * skip[k]) % m;
            while (entry[c] >= 0) {
                ++next[k];
                c = (offset[k] + next[k] * skip[k]) % m;
            }
            entry[c] = static_cast<std::int32_t>(order[k]);
            ++next[k];
            if (++filled == m) {
                return entry;
            }
        }
    }
}

// CPU time of this thread, not wall time: on a shared 2-core machine a build is
// often preempted, and the time spent off the CPU says nothing about the code.
double thread_cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double elapsed_ms(const std::function<void()>& run) {
    const double start = thread_cpu_ms();
    run();
    return thread_cpu_ms() - start;
}

// Medians of `rounds` timings of each function, taken in alternation so that both
// see the same machine (the other core is shared with whatever else runs).
std::vector<double> median_ms(int rounds, const std::vector<std::function<void()>>& runs) {
    std::vector<std::vector<double>> samples(runs.size());
    for (const auto& run : runs) {
        run();  // warm caches and the builder's scratch memory
    }
    for (int r = 0; r < rounds; ++r) {
        for (std::size_t k = 0; k < runs.size(); ++k) {
            samples[k].push_back(elapsed_ms(runs[k]));
        }
    }
    std::vector<double> medians;
    for (auto& v : samples) {
        medians.push_back(median(std::move(v)));
    }
    return medians;
}

double max_over_mean(const std::vector<std::int32_t>& table, std::size_t n) {
    std::vector<std::uint32_t> counts(n, 0);
    for (std::int32_t slot : table) {
        if (slot >= 0) ++counts[static_cast<std::size_t>(slot)];
    }
    const double mean = static_cast<double>(table.size()) / static_cast<double>(n);
    return *std::max_element(counts.begin(), counts.end()) / mean;
}

struct Churn {
    double mean = 0;
    double max = 0;
};

// Share of slots that did not belong to the removed backend but changed owner,
// over several removed backends (owners mapped back to indices of the full set).
Churn churn_remove_one(const BackendSet& set, std::uint32_t m, int samples) {
    const auto before = mg::build_table(set.backends, m);
    Churn churn;
    for (int s = 0; s < samples; ++s) {
        const std::size_t removed = (static_cast<std::size_t>(s) * 7717) % set.backends.size();
        std::vector<mg::Backend> rest;
        std::vector<std::size_t> old_index;  // rest position -> index in set
        for (std::size_t i = 0; i < set.backends.size(); ++i) {
            if (i != removed) {
                rest.push_back(set.backends[i]);
                old_index.push_back(i);
            }
        }
        const auto after = mg::build_table(rest, m);
        std::uint64_t kept_slots = 0, moved = 0;
        for (std::uint32_t slot = 0; slot < m; ++slot) {
            const auto owner = static_cast<std::size_t>(before[slot]);
            if (owner == removed) {
                continue;
            }
            ++kept_slots;
            moved += old_index[static_cast<std::size_t>(after[slot])] != owner ? 1 : 0;
        }
        const double share = static_cast<double>(moved) / static_cast<double>(kept_slots);
        churn.mean += share / samples;
        churn.max = std::max(churn.max, share);
    }
    return churn;
}

int run(bool quick, const std::string& json_path) {
    const int rounds = quick ? 5 : 31;
    nlohmann::json out = nlohmann::json::object();

    struct Case {
        std::uint32_t m;
        std::size_t n;
        bool mixed;
        bool textbook;  // also time the textbook fill, in alternation
        std::string key;
    };
    const Case cases[] = {
        {65537, 10, false, false, "maglev.m65537_n10"},     {65537, 100, false, false, "maglev.m65537_n100"},
        {65537, 1000, false, true, "maglev.m65537_n1000"},  {65537, 1000, true, false, "maglev.m65537_n1000_weighted"},
        {65537, 5000, false, false, "maglev.m65537_n5000"}, {655373, 1000, false, true, "maglev.m655373_n1000"},
    };

    std::printf("%-8s %-6s %-8s %10s %12s %9s\n", "M", "N", "weights", "median ms", "textbook ms", "ratio");
    for (const Case& c : cases) {
        const BackendSet set = make_backends(c.n, c.mixed);
        std::vector<std::int32_t> table(c.m);
        std::vector<std::function<void()>> runs{[&] { mg::build_table(set.backends, table); }};
        // The ring size through a volatile, so that the compiler cannot turn the
        // textbook's modulo by a runtime value into a multiplication by a constant.
        volatile std::uint32_t runtime_m = c.m;
        if (c.textbook) {
            mg::build_table(set.backends, table);
            if (table != textbook_table(set.backends, c.m)) {
                std::fprintf(stderr, "error: M=%u N=%zu: the table differs from the textbook table\n", c.m, c.n);
                return 1;
            }
            runs.push_back([&set, &runtime_m] {
                if (textbook_table(set.backends, runtime_m).empty()) {
                    std::abort();
                }
            });
        }
        const std::vector<double> ms = median_ms(rounds, runs);
        out[c.key + ".ms"] = ms[0];
        std::printf("%-8u %-6zu %-8s %10.3f", c.m, c.n, c.mixed ? "1..1000" : "equal", ms[0]);
        if (c.textbook) {
            out[c.key + ".ratio_to_textbook"] = ms[0] / ms[1];
            std::printf(" %12.3f %9.3f", ms[1], ms[0] / ms[1]);
        }
        std::printf("\n");
    }

    const std::uint32_t m = 65537;
    const BackendSet set = make_backends(1000, false);
    const double balance = max_over_mean(mg::build_table(set.backends, m), set.backends.size());
    const Churn churn = churn_remove_one(set, m, quick ? 3 : 10);
    out["maglev.m65537_n1000.max_over_mean"] = balance;
    out["maglev.m65537_n1000.churn_remove_one"] = churn.mean;

    std::printf("\nM=65537 N=1000, equal weights\n");
    std::printf("  max/mean slots per backend   %8.4f\n", balance);
    std::printf("  churn, remove one (mean)     %8.4f\n", churn.mean);
    std::printf("  churn, remove one (worst)    %8.4f\n", churn.max);

    julier::bench::write_figures(out, json_path);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Benchmark of Maglev table generation"};
    julier::bench::Options options;
    julier::bench::add_options(app, options, "fewer rounds");
    CLI11_PARSE(app, argc, argv);
    return julier::bench::run([&] { return run(options.quick, options.json_path); });
}
