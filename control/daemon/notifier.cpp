#include "daemon/notifier.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/logging.h"

namespace julier::daemon {
namespace {

std::uint64_t monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

// STATUS= is a single line; a newline would start a new assignment.
std::string one_line(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return out;
}

}  // namespace

Notifier::Notifier() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    enabled_ = socket != nullptr && *socket != '\0';
    std::uint64_t usec = 0;
    // > 0 only when the watchdog is on and meant for this process (WATCHDOG_PID).
    if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog_interval_ = std::chrono::microseconds(usec / 2);
    }
}

void Notifier::ready(std::string_view status) { send(fmt::format("READY=1\nSTATUS={}", one_line(status))); }

void Notifier::reloading() { send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec())); }

void Notifier::stopping(std::string_view status) { send(fmt::format("STOPPING=1\nSTATUS={}", one_line(status))); }

void Notifier::status(std::string_view status) { send(fmt::format("STATUS={}", one_line(status))); }

void Notifier::watchdog() { send("WATCHDOG=1"); }

void Notifier::send(std::string_view message) {
    if (!enabled_) return;
    const std::string text(message);
    const int rc = sd_notify(0, text.c_str());
    if (rc < 0) {
        spdlog::warn("sd_notify failed error={}", kv(std::strerror(-rc)));
    }
}

}  // namespace julier::daemon
