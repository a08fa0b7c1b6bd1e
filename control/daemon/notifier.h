// The service-manager side of julierd: sd_notify(3) messages and the watchdog.
// Every call is a no-op when NOTIFY_SOCKET is not set, so julierd runs the same
// under systemd, under another supervisor and in a terminal.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace julier::daemon {

class Notifier {
public:
    // Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID once.
    Notifier();

    bool enabled() const { return enabled_; }

    void ready(std::string_view status);
    // RELOADING=1 with MONOTONIC_USEC (systemd >= 253 needs it for Type=notify-reload).
    void reloading();
    void stopping(std::string_view status);
    void status(std::string_view status);
    void watchdog();

    // How often to call watchdog(): half the configured timeout, if one is set.
    std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_interval_; }

private:
    void send(std::string_view message);

    bool enabled_ = false;
    std::optional<std::chrono::microseconds> watchdog_interval_;
};

}  // namespace julier::daemon
