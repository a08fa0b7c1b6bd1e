// Logging for julierd: one line per event, `event key=value ...`.
//
// Under systemd (stderr is the journal stream named by JOURNAL_STREAM) each line
// starts with its sd-daemon(3) priority prefix `<N>` and carries no timestamp, since
// the journal stamps it; elsewhere lines carry a local timestamp and the level. A
// daemon that detached from its terminal logs to syslog.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <spdlog/common.h>

namespace julier::daemon {

// "trace", "debug", "info", "warning"/"warn", "error", "critical", "off".
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text);

// True when stderr is the stream systemd's journal connected (JOURNAL_STREAM matches
// stderr's device and inode), as sd-daemon(3) recommends checking.
bool stderr_is_journal();

enum class LogTarget {
    terminal,  // stderr, with timestamps
    journal,   // stderr read by journald: <N> prefixes, no timestamps
    syslog,    // syslog(3), once a detached daemon has no stderr
};

// Replaces the default logger with one that writes to `target` as described above.
void setup_logging(spdlog::level::level_enum level, LogTarget target);

// A value for a key=value field: bare when it is one plain word, otherwise quoted
// with backslash escapes, so every log line splits unambiguously.
std::string kv(std::string_view value);

}  // namespace julier::daemon
