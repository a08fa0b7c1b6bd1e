// docs/metrics.md documents every exported metric and every forwarder verdict and
// reason, so the reference cannot fall behind the code.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "julier/abi.h"
#include "metrics/metric_specs.h"

namespace {

std::string read_docs() {
    const auto path = std::filesystem::path(JULIER_SOURCE_DIR) / "docs" / "metrics.md";
    std::ifstream in(path);
    INFO(path.string());
    REQUIRE(in.good());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The cell texts of the table row starting at `at` ("| `a` | b |" -> "`a`", "b").
std::vector<std::string> cells(const std::string& text, std::size_t at) {
    std::vector<std::string> out;
    const auto end = text.find('\n', at);
    std::string row = text.substr(at, end - at);
    std::size_t i = row.find('|');
    while (i != std::string::npos) {
        const auto next = row.find('|', i + 1);
        if (next == std::string::npos) break;
        auto cell = row.substr(i + 1, next - i - 1);
        cell.erase(0, cell.find_first_not_of(' '));
        cell.erase(cell.find_last_not_of(' ') + 1);
        out.push_back(cell);
        i = next;
    }
    return out;
}

}  // namespace

TEST_CASE("metrics docs: every metric has a row with its type", "[metrics]") {
    const auto docs = read_docs();
    for (const auto* spec : julier::metrics::all_metrics) {
        const std::string name(spec->name);
        INFO(name);
        const auto at = docs.find("\n| `" + name + "` |");
        REQUIRE(at != std::string::npos);
        const auto row = cells(docs, at + 1);
        REQUIRE(row.size() >= 4);
        const char* type = spec->type == prometheus::MetricType::Counter     ? "counter"
                           : spec->type == prometheus::MetricType::Gauge     ? "gauge"
                           : spec->type == prometheus::MetricType::Histogram ? "histogram"
                                                                             : "?";
        CHECK(row[1] == type);
    }
}

TEST_CASE("metrics docs: the verdict table lists exactly the forwarder's counters", "[metrics]") {
    std::set<std::pair<std::string, std::string>> counters;
#define JL_DOC_COUNTER(name, verdict, label) counters.emplace(#verdict, label);
    JL_COUNTERS(JL_DOC_COUNTER)
#undef JL_DOC_COUNTER

    const auto docs = read_docs();
    const auto table = docs.find("| verdict | reason |");
    REQUIRE(table != std::string::npos);
    std::set<std::pair<std::string, std::string>> documented;
    // Rows follow the header and the separator line, up to the first blank line.
    std::size_t at = docs.find('\n', docs.find('\n', table) + 1) + 1;
    while (at < docs.size() && docs[at] == '|') {
        const auto row = cells(docs, at);
        REQUIRE(row.size() == 3);
        const auto unquote = [](std::string s) {
            REQUIRE(s.size() > 2);
            REQUIRE(s.front() == '`');
            REQUIRE(s.back() == '`');
            return s.substr(1, s.size() - 2);
        };
        documented.emplace(unquote(row[0]), unquote(row[1]));
        at = docs.find('\n', at) + 1;
    }
    CHECK(documented == counters);
}
