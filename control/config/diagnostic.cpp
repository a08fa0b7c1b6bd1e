#include "config/diagnostic.h"

#include <algorithm>
#include <tuple>

namespace julier::config {

std::string Diagnostic::to_string() const {
    std::string out = location.to_string();
    out += severity == Severity::error ? ": error: " : ": warning: ";
    if (!field.empty()) out += field + ": ";
    out += message;
    return out;
}

std::size_t count(const std::vector<Diagnostic>& diagnostics, Severity severity) {
    return static_cast<std::size_t>(std::count_if(diagnostics.begin(), diagnostics.end(),
                                                  [&](const Diagnostic& d) { return d.severity == severity; }));
}

std::string counted(std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

void sort_and_deduplicate(std::vector<Diagnostic>& diagnostics) {
    auto key = [](const Diagnostic& d) {
        return std::tie(d.location.file, d.location.line, d.location.column, d.field, d.severity, d.message);
    };
    std::stable_sort(diagnostics.begin(), diagnostics.end(),
                     [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
    diagnostics.erase(std::unique(diagnostics.begin(), diagnostics.end()), diagnostics.end());
}

}  // namespace julier::config
