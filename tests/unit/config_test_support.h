// Small utilities shared by the catalogue tests: build YAML line by line (so that
// expected positions can be read off the source), look up diagnostics and check
// where they point and what they say.
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

// `d` has this severity and points at t.yaml:line:column.
inline void require_at(const Diagnostic& d, Severity severity, int line, int column) {
    INFO(d.to_string());
    CHECK(d.severity == severity);
    CHECK(d.location.file == "t.yaml");
    CHECK(d.location.line == line);
    CHECK(d.location.column == column);
}

// The only diagnostic about `field`, checked for severity, position and (unless
// empty) the whole message; returned for further checks.
inline Diagnostic expect_located(const ParseResult& r, const std::string& field, Severity severity, int line,
                                 int column, const std::string& message = {}) {
    const Diagnostic d = only(r, field);
    require_at(d, severity, line, column);
    if (!message.empty()) CHECK(d.message == message);
    return d;
}

}  // namespace julier::config::testing
