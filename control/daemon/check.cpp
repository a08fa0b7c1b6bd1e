#include "daemon/check.h"

#include <filesystem>
#include <ostream>
#include <system_error>

#include <fmt/format.h>

#include "cli/client.h"
#include "cli/render.h"
#include "config/parse.h"
#include "config/summary.h"
#include "daemon/protocol.h"

namespace julier::daemon {
namespace {

int check(const std::string& path, const std::optional<std::string>& socket, std::ostream& out, std::ostream& err,
          bool ask) {
    const auto result = config::parse_catalogue_file(path);
    for (const auto& d : result.diagnostics) err << d.to_string() << '\n';
    if (!result.ok()) {
        err << fmt::format("{}: invalid ({} errors, {} warnings)\n", path, result.errors(), result.warnings());
        return 1;
    }
    out << config::summarize(*result.catalogue);
    if (ask) {
        const std::string via = socket ? *socket : result.catalogue->control_socket;
        std::error_code ec;
        auto absolute = std::filesystem::absolute(path, ec);
        protocol::Request request;
        request.command = protocol::Command::reload;
        request.dry_run = true;
        request.file = ec ? path : absolute.lexically_normal().string();
        protocol::Response response;
        try {
            cli::ControlClient client(via);
            response = client.call(request);
        } catch (const std::exception& e) {  // ClientError, or an unreadable answer
            err << fmt::format("{}: cannot compare with the running julierd at {}: {}\n", path, via, e.what());
            err << fmt::format("{}: valid ({} warnings), not compared (no running julierd answered)\n", path,
                               result.warnings());
            return 2;
        }
        if (!response.ok) {
            err << fmt::format("{}: the running julierd at {} would refuse it: {}\n", path, via, response.error);
            for (const auto& d : response.details) err << "  " << d << '\n';
            return 1;
        }
        try {
            const auto reload = response.result.get<protocol::ReloadResult>();
            for (const auto& w : reload.warnings) err << w << '\n';
            out << fmt::format("against the running julierd at {} (config generation {}, dataplane generation {}):\n",
                               via, reload.config_generation, reload.dataplane_generation);
            out << cli::render_changes(reload.changes);
        } catch (const std::exception& e) {
            err << fmt::format("{}: cannot read the running julierd's answer: {}\n", path, e.what());
            return 2;
        }
    }
    out << fmt::format("{}: valid ({} warnings)\n", path, result.warnings());
    return 0;
}

}  // namespace

int run_check(const std::string& path, std::ostream& out, std::ostream& err) {
    return check(path, std::nullopt, out, err, /*ask=*/false);
}

int run_check_against_running(const std::string& path, const std::optional<std::string>& socket, std::ostream& out,
                              std::ostream& err) {
    return check(path, socket, out, err, /*ask=*/true);
}

}  // namespace julier::daemon
