#include "daemon/options.h"

#include <filesystem>
#include <system_error>

#include <CLI/CLI.hpp>

#include "daemon/logging.h"
#include "daemon/version.h"

namespace julier::daemon {

std::variant<Options, int> parse_options(int argc, char** argv) {
    Options options;
    std::string level = "info";
    std::string check;
    std::string pin_dir;

    CLI::App app{"julierd: XDP layer-4 load balancer daemon"};
    app.set_version_flag("--version", std::string("julierd ") + kVersion);
    app.add_option("-c,--config", options.config_file,
                   std::string("Service catalogue (YAML); default ") + kDefaultConfigFile)
        ->option_text("FILE");
    app.add_option("--check", check,
                   "Validate FILE, print its diagnostics (and its summary when valid), and exit (0 = valid); touches "
                   "nothing live")
        ->option_text("FILE");
    auto* against = app.add_flag("--against-running", options.against_running,
                                 "With --check: also ask the running julierd (over its control socket) what a reload "
                                 "of FILE would change; applies nothing");
    std::string socket;
    auto* socket_option = app.add_option("--socket", socket,
                                         "The running julierd's control socket for --against-running (default: "
                                         "FILE's control_socket)")
                              ->option_text("PATH");
    app.add_option("--log-level", level, "trace, debug, info, warning, error, critical or off")
        ->default_str("info")
        ->check([](const std::string& text) {
            return parse_log_level(text) ? std::string{}
                                         : "must be trace, debug, info, warning, error, critical or off";
        });
    app.add_option("--pin-dir", pin_dir, "Where the BPF maps are pinned (overrides the catalogue's pin_dir)")
        ->option_text("DIR");
    app.add_flag("--foreground", options.foreground,
                 "Stay in the foreground (implied under systemd: NOTIFY_SOCKET or JOURNAL_STREAM)");

    try {
        app.parse(argc, argv);
        if (options.against_running && check.empty())
            throw CLI::ValidationError(against->get_name(), "needs --check FILE");
        if (!socket.empty() && !options.against_running)
            throw CLI::ValidationError(socket_option->get_name(), "needs --against-running");
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    options.log_level = *parse_log_level(level);
    // Absolute, so that messages name the file exactly and a reload after a
    // change of working directory (detaching goes to /) reads the same file.
    std::error_code ec;
    if (auto absolute = std::filesystem::absolute(options.config_file, ec); !ec) {
        options.config_file = absolute.lexically_normal().string();
    }
    if (!check.empty()) options.check_file = check;
    if (!pin_dir.empty()) options.pin_dir = pin_dir;
    if (!socket.empty()) options.socket = socket;
    return options;
}

}  // namespace julier::daemon
