// The command line and results file every benchmark binary shares. `--quick` picks
// fewer rounds; `--json FILE` writes the figures as one flat JSON object (name ->
// number), the form bench/check_results.py and scripts/bench read.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace julier::bench {

struct Options {
    bool quick = false;
    std::string json_path;  // empty: no results file
};

// Adds --quick (described by quick_help, what it means for this benchmark) and --json.
void add_options(CLI::App& app, Options& options, const std::string& quick_help);

// Writes figures to path as 2-space indented JSON and a newline; nothing when path is
// empty. Throws std::runtime_error when the file cannot be written.
void write_figures(const nlohmann::json& figures, const std::string& path);

// Runs a benchmark's body and returns its exit status. A body that throws prints
// "error: <what>" and exits 1. With needs_root (why it needs root), refuses to run
// as another user.
int run(const std::function<int()>& body, std::string_view needs_root = {});

// The middle value (the upper one of an even count); values must not be empty.
double median(std::vector<double> values);

}  // namespace julier::bench
