// The command line and results file every benchmark binary shares (bench_cli.h).
#include "bench_cli.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <fstream>
#include <stdexcept>

namespace julier::bench {

void add_options(CLI::App& app, Options& options, const std::string& quick_help) {
    app.add_flag("--quick", options.quick, quick_help);
    app.add_option("--json", options.json_path, "write the results as a flat JSON object to this file");
}

void write_figures(const nlohmann::json& figures, const std::string& path) {
    if (path.empty()) return;
    std::ofstream file(path);
    file << figures.dump(2) << '\n';
    if (!file) throw std::runtime_error("cannot write " + path);
}

int run(const std::function<int()>& body, std::string_view needs_root) {
    if (!needs_root.empty() && geteuid() != 0) {
        std::fprintf(stderr, "error: needs root (%.*s)\n", static_cast<int>(needs_root.size()), needs_root.data());
        return 1;
    }
    try {
        return body();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

}  // namespace julier::bench
