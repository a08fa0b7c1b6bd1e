// The connection table's walks (`julierctl flows|purge`, the periodic census) on a
// thread of their own, one at a time: a table of millions takes a second or more to
// read, which the event loop (control socket, probes, watchdog) must not wait for.
// A job answers through the io_context it was given (asio::post), never directly.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

#include "dataplane/dataplane.h"
#include "flows/flow_table.h"

namespace julier::daemon {

class FlowWalker {
public:
    // A job gets the flag that says the walker is stopping: a long walk ends early.
    using Job = std::function<void(const std::atomic<bool>& stopping)>;

    FlowWalker();
    ~FlowWalker();  // stop()
    FlowWalker(const FlowWalker&) = delete;
    FlowWalker& operator=(const FlowWalker&) = delete;

    // Queues a job; false when kMaxQueued jobs wait already (the caller says "busy").
    bool post(Job job);
    // Ends the running job early, drops the queued ones and joins the thread.
    void stop();

    static constexpr std::size_t kMaxQueued = 8;

private:
    void run();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> jobs_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

// Entries per read: bounds one bpf(2) call's copy and how long a stop waits.
inline constexpr std::size_t kFlowWalkBatch = 4096;

// One visit per batch, in walk order (see flows::Pager::add); false stops the walk.
using FlowVisit = std::function<bool(std::optional<std::uint32_t> token, std::span<const flows::FlowEntry> batch,
                                     std::optional<std::uint32_t> next)>;

// Walks the table from `token` (none: its start) until the end, `visit` says stop, or
// `stopping` is set (then false).
bool walk_flows(const dataplane::Dataplane& dataplane, std::optional<std::uint32_t> token,
                const std::atomic<bool>& stopping, const FlowVisit& visit);

}  // namespace julier::daemon
