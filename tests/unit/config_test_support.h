// Small utilities shared by the catalogue tests: build YAML line by line (so that
// expected positions can be read off the source) and look up diagnostics.
#pragma once

#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>

#include "config/parse.h"

namespace julier::config::testing {

// Joins lines with '\n': element k of the list is line k+1 of the text.
inline std::string lines(std::initializer_list<const char*> ls) {
    std::string out;
    for (const char* l : ls) out += std::string(l) + "\n";
    return out;
}

inline ParseResult parse(const std::string& text) { return parse_catalogue_text(text, "t.yaml"); }

inline std::string all_text(const ParseResult& r) {
    std::string out;
    for (const Diagnostic& d : r.diagnostics) out += d.to_string() + "\n";
    return out;
}

// The only diagnostic about `field`; fails the test if there is not exactly one.
inline Diagnostic only(const ParseResult& r, const std::string& field) {
    const Diagnostic* found = nullptr;
    int n = 0;
    for (const Diagnostic& d : r.diagnostics)
        if (d.field == field) {
            found = &d;
            ++n;
        }
    INFO("looking for exactly one diagnostic about " << field << " in:\n" << all_text(r));
    REQUIRE(n == 1);
    return *found;
}

}  // namespace julier::config::testing
