#include "daemon/logging.h"

#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

namespace julier::daemon {
namespace {

// Renders the `<N>` syslog priority that journald strips and stores (sd-daemon(3)).
class JournalPriorityFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        const char* prefix = "<6>";
        switch (msg.level) {
            case spdlog::level::trace:
            case spdlog::level::debug: prefix = "<7>"; break;
            case spdlog::level::info: prefix = "<6>"; break;
            case spdlog::level::warn: prefix = "<4>"; break;
            case spdlog::level::err: prefix = "<3>"; break;
            case spdlog::level::critical: prefix = "<2>"; break;
            default: break;
        }
        dest.append(prefix, prefix + 3);
    }

    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JournalPriorityFlag>(); }
};

}  // namespace

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text) {
    if (text == "trace") return spdlog::level::trace;
    if (text == "debug") return spdlog::level::debug;
    if (text == "info") return spdlog::level::info;
    if (text == "warning" || text == "warn") return spdlog::level::warn;
    if (text == "error") return spdlog::level::err;
    if (text == "critical") return spdlog::level::critical;
    if (text == "off") return spdlog::level::off;
    return std::nullopt;
}

bool stderr_is_journal() {
    const char* env = std::getenv("JOURNAL_STREAM");
    if (env == nullptr) return false;
    unsigned long long dev = 0;
    unsigned long long ino = 0;
    if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return st.st_dev == dev && st.st_ino == ino;
}

void setup_logging(spdlog::level::level_enum level, LogTarget target) {
    spdlog::sink_ptr sink;
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    switch (target) {
        case LogTarget::terminal:
            sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
            formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
            break;
        case LogTarget::journal:
            sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
            formatter->add_flag<JournalPriorityFlag>('*').set_pattern("%*%v");
            break;
        case LogTarget::syslog:
            // syslog stamps and ranks each line itself.
            sink = std::make_shared<spdlog::sinks::syslog_sink_mt>("julierd", LOG_PID, LOG_DAEMON, true);
            formatter->set_pattern("%v");
            break;
    }
    auto logger = std::make_shared<spdlog::logger>("julierd", std::move(sink));
    logger->set_formatter(std::move(formatter));
    logger->set_level(level);
    // Errors must reach the journal even if the process dies right after.
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(std::move(logger));
}

std::string kv(std::string_view value) {
    bool plain = !value.empty();
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= ' ' || c == '"' || c == '=' || c == '\\' || u == 0x7f) {
            plain = false;
            break;
        }
    }
    if (plain) return std::string(value);

    std::string out = "\"";
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (u < ' ' || u == 0x7f) {
            out += fmt::format("\\x{:02x}", u);
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

}  // namespace julier::daemon
