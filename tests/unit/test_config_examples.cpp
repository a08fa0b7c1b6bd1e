// The shipped catalogues are valid: the annotated example and every variant.
#include <catch2/catch.hpp>

#include <filesystem>

#include "config/parse.h"

using namespace julier::config;

namespace {

std::string all_text(const ParseResult& r) {
    std::string out;
    for (const auto& d : r.diagnostics) out += d.to_string() + "\n";
    return out;
}

}  // namespace

TEST_CASE("config/julier.yaml parses without errors or warnings", "[config]") {
    auto r = parse_catalogue_file(std::string(JULIER_SOURCE_DIR) + "/config/julier.yaml");
    INFO(all_text(r));
    REQUIRE(r.ok());
    CHECK(r.diagnostics.empty());
    CHECK(r.catalogue->services.size() >= 3);
}

TEST_CASE("every catalogue in config/examples parses without errors or warnings", "[config]") {
    const std::filesystem::path dir = std::filesystem::path(JULIER_SOURCE_DIR) / "config" / "examples";
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".yaml") continue;
        // julier-decap's configuration, not a catalogue (test_decap_config.cpp).
        if (entry.path().filename() == "decap.yaml") continue;
        ++files;
        auto r = parse_catalogue_file(entry.path().string());
        INFO(entry.path().string() << "\n" << all_text(r));
        CHECK(r.ok());
        CHECK(r.diagnostics.empty());
    }
    CHECK(files >= 3);
}
