// julierd's command line.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include <spdlog/common.h>

namespace julier::daemon {

inline constexpr const char* kDefaultConfigFile = "/etc/julier/julier.yaml";

struct Options {
    std::string config_file = kDefaultConfigFile;
    std::optional<std::string> check_file;  // --check: validate and exit
    // --check with --against-running: also ask the running julierd what a reload of
    // the file would change, over `socket` (unset: the file's control_socket)
    bool against_running = false;
    std::optional<std::string> socket;
    spdlog::level::level_enum log_level = spdlog::level::info;
    std::optional<std::string> pin_dir;  // overrides the catalogue's pin_dir
    bool foreground = false;
};

// The options, or the exit code when the command line was answered (--help,
// --version) or wrong (the message is printed).
std::variant<Options, int> parse_options(int argc, char** argv);

}  // namespace julier::daemon
