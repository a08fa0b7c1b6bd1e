// julierd: the julier load balancer daemon. See docs/julierd.md.
#include <iostream>
#include <optional>
#include <string_view>
#include <variant>

#include <spdlog/spdlog.h>

#include "daemon/background.h"
#include "daemon/check.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "daemon/notifier.h"
#include "daemon/options.h"

int main(int argc, char** argv) {
    using namespace julier::daemon;

    auto parsed = parse_options(argc, argv);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    auto& options = std::get<Options>(parsed);

    if (options.check_file && options.against_running)
        return run_check_against_running(*options.check_file, options.socket, std::cout, std::cerr);
    if (options.check_file) return run_check(*options.check_file, std::cout, std::cerr);

    const bool journal = stderr_is_journal();
    setup_logging(options.log_level, journal ? LogTarget::journal : LogTarget::terminal);

    // Under a service manager (notify socket or journal) the process stays where it
    // was started; elsewhere it detaches unless --foreground.
    std::optional<Background> background;
    if (!options.foreground && !journal && !Notifier().enabled()) {
        try {
            background.emplace(Background::detach());
        } catch (const std::exception& e) {
            spdlog::critical("cannot detach error={}", kv(e.what()));
            return 1;
        }
    }

    try {
        Daemon daemon(options, [&] {
            if (!background) return;
            background->ready();
            setup_logging(options.log_level, LogTarget::syslog);  // stderr is /dev/null now
        });
        const int code = daemon.run();
        spdlog::info("exit code={}", code);
        return code;
    } catch (const StartupError& e) {
        // One line per line of the message: diagnostics stay readable one by one.
        std::string_view text = e.what();
        const char* key = "error";
        while (!text.empty()) {
            const auto nl = text.find('\n');
            auto line = text.substr(0, nl);
            while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
            spdlog::critical("start failed {}={}", key, kv(line));
            key = "detail";
            text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        }
        return 1;
    } catch (const std::exception& e) {
        spdlog::critical("failed error={}", kv(e.what()));
        return 1;
    }
}
