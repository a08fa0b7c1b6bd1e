#include "daemon/check.h"

#include <ostream>

#include <fmt/format.h>

#include "config/parse.h"
#include "config/summary.h"

namespace julier::daemon {

int run_check(const std::string& path, std::ostream& out, std::ostream& err) {
    const auto result = config::parse_catalogue_file(path);
    for (const auto& d : result.diagnostics) err << d.to_string() << '\n';
    if (!result.ok()) {
        err << fmt::format("{}: invalid ({} errors, {} warnings)\n", path, result.errors(), result.warnings());
        return 1;
    }
    out << config::summarize(*result.catalogue);
    out << fmt::format("{}: valid ({} warnings)\n", path, result.warnings());
    return 0;
}

}  // namespace julier::daemon
