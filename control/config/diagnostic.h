// One finding about a catalogue, located in its file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/source_location.h"

namespace julier::config {

enum class Severity { error, warning };

struct Diagnostic {
    Severity severity = Severity::error;
    common::SourceLocation location;
    std::string field;  // dotted path, e.g. services[1].backends[0].weight; may be empty
    std::string message;

    // "julier.yaml:12:15: error: services[0].port: 70000 is out of range (allowed: 0-65535)"
    std::string to_string() const;

    bool operator==(const Diagnostic&) const = default;
};

std::size_t count(const std::vector<Diagnostic>&, Severity);

// For messages: "1 backend", "3 backends".
std::string counted(std::uint64_t n, const char* one, const char* many);

// In file order (then by field), with exact repeats removed: a bad value in
// `defaults` is found once per service that inherits it, and reported once.
void sort_and_deduplicate(std::vector<Diagnostic>&);

}  // namespace julier::config
