// The health checker: probes every target on its own schedule from one
// io_context (no thread per check), runs each backend's rise/fall state machine,
// and reports transitions and slow-start weight changes.
//
// Scheduling: a target is probed every health.interval at a fixed phase within the
// interval (schedule.h), so 10 000 targets at 1 s give a steady 10 per ms rather
// than a burst. A slot whose previous probe is still running is skipped. All
// targets share one timer, which wakes at most once per timer_slack.
//
// Not thread-safe: call everything from the io_context's thread. Handlers are
// called from that thread too, never from inside set_targets().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "health/backend_health.h"
#include "health/probe_set.h"
#include "health/result.h"
#include "health/state.h"
#include "health/targets.h"

namespace julier::health {

struct ManagerOptions {
    ProbeOptions probes;
    // Probes due within this much of a timer expiry start together, up to this
    // much early: the checker then wakes at most once per slack instead of once per
    // probe, which is most of its cost with thousands of targets.
    std::chrono::microseconds timer_slack{1000};
    // A slow start is reported through the weight handler in this many steps...
    std::size_t ramp_steps = 10;
    // ...but not more often than this.
    std::chrono::milliseconds min_ramp_step{100};
};

// A transition of one backend.
struct HealthEvent {
    std::string service;
    common::IpAddress address;
    State from = State::unknown;
    State to = State::unknown;
    std::string reason;
    TimePoint at{};
};

struct BackendStatus {
    std::string service;
    common::IpAddress address;
    std::uint16_t port = 0;
    config::HealthKind kind = config::HealthKind::tcp;
    State state = State::unknown;
    std::string reason;  // of the last transition
    TimePoint since{};   // of the last transition
    double weight_factor = 0.0;
    std::uint32_t consecutive_passes = 0;
    std::uint32_t consecutive_failures = 0;
    std::optional<Result> last;  // the last probe's result
};

class Manager {
public:
    using TransitionHandler = std::function<void(const HealthEvent&)>;
    using WeightHandler =
        std::function<void(const std::string& service, const common::IpAddress& address, double factor)>;
    // For measurements: each probe start with the slot it was scheduled for
    // (started - scheduled lies within [-timer_slack, lateness of the loop]).
    using StartObserver = std::function<void(TimePoint scheduled, TimePoint started)>;
    // Each finished probe (for metrics: durations and failures by class).
    using ResultObserver = std::function<void(const Target&, const Result&)>;

    // Throws std::runtime_error when the probe options cannot be used.
    explicit Manager(boost::asio::io_context& io, ManagerOptions options = {});
    // Cancels every probe in flight (their commands are killed) and the timers.
    ~Manager();
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;

    void on_transition(TransitionHandler handler);
    void on_weight(WeightHandler handler);
    void on_probe_start(StartObserver observer);
    void on_probe_result(ResultObserver observer);

    // The complete set of targets (at start and on every reload). Targets that
    // remain, identified by service name and backend address, keep their state,
    // counts and phase and take the new settings; new ones start unknown; removed
    // ones are forgotten, their probes cancelled, without an event. A target of
    // kind none is up at once (its event is posted).
    //
    // Slow start: applies whenever a backend goes up from down, and when a target
    // added by a later call goes up for the first time; targets of the very first
    // call (start-up) go to full weight at once.
    void set_targets(const std::vector<Target>& targets);

    // Stops probing for good (shutdown); state stays readable.
    void stop();

    std::optional<BackendStatus> status(std::string_view service, const common::IpAddress& address) const;
    // Every target, ordered by service name then address.
    std::vector<BackendStatus> statuses() const;
    // 0 while not up; see BackendHealth::weight_factor. 0 for unknown targets.
    double weight_factor(std::string_view service, const common::IpAddress& address) const;

    // Every target's verdict now, in one call: what a plan is made from.
    Snapshot snapshot() const;

    std::size_t size() const;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace julier::health
