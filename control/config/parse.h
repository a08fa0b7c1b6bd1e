// YAML text -> Catalogue, with every problem reported at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/catalogue.h"
#include "config/diagnostic.h"

namespace julier::config {

struct ParseResult {
    // Present when there is no error (warnings allowed).
    std::optional<Catalogue> catalogue;
    // Errors and warnings, in file order.
    std::vector<Diagnostic> diagnostics;

    bool ok() const { return catalogue.has_value(); }
    std::size_t errors() const { return count(diagnostics, Severity::error); }
    std::size_t warnings() const { return count(diagnostics, Severity::warning); }
};

// Reads, parses and validates a catalogue file. Never throws for bad input: a
// missing, unreadable or empty file is an error diagnostic like any other.
ParseResult parse_catalogue_file(const std::string& path);

// The same for text already in memory; `name` is the file name used in messages.
ParseResult parse_catalogue_text(std::string_view text, const std::string& name);

}  // namespace julier::config
