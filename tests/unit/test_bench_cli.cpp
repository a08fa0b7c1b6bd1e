// The command line and results file shared by the benchmark binaries (bench/common).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "bench_cli.h"

namespace bench = julier::bench;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("bench: --quick and --json parse into the options", "[bench]") {
    CLI::App app{"test"};
    bench::Options options;
    bench::add_options(app, options, "fewer rounds");
    const char* argv[] = {"bench", "--quick", "--json", "out.json"};
    app.parse(4, argv);
    CHECK(options.quick);
    CHECK(options.json_path == "out.json");

    bench::Options defaults;
    CLI::App plain{"test"};
    bench::add_options(plain, defaults, "fewer rounds");
    const char* none[] = {"bench"};
    plain.parse(1, none);
    CHECK_FALSE(defaults.quick);
    CHECK(defaults.json_path.empty());
}

TEST_CASE("bench: figures are written as one flat, indented JSON object", "[bench]") {
    const std::string path = "/tmp/julier-bench-cli-" + std::to_string(::getpid()) + ".json";
    nlohmann::json figures = nlohmann::json::object();
    figures["maglev.m65537_n10.ms"] = 1.5;
    figures["apply.services"] = 1000;
    bench::write_figures(figures, path);
    CHECK(read_file(path) == "{\n  \"apply.services\": 1000,\n  \"maglev.m65537_n10.ms\": 1.5\n}\n");
    std::remove(path.c_str());

    CHECK_NOTHROW(bench::write_figures(figures, ""));  // no --json: no file
    CHECK_THROWS_WITH(bench::write_figures(figures, "/nonexistent-dir/x.json"), "cannot write /nonexistent-dir/x.json");
}

TEST_CASE("bench: run hands back the body's status and turns an exception into 1", "[bench]") {
    CHECK(bench::run([] { return 3; }) == 3);
    CHECK(bench::run([]() -> int { throw std::runtime_error("no forwarder"); }) == 1);
}

TEST_CASE("bench: the median is the middle value, the upper one of an even count", "[bench]") {
    CHECK(bench::median({3.0, 1.0, 2.0}) == 2.0);
    CHECK(bench::median({4.0, 1.0, 3.0, 2.0}) == 3.0);
    CHECK(bench::median({7.0}) == 7.0);
}
