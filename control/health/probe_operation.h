// What every probe kind shares: the deadline, the once-only result, the timing,
// and the translation of socket errors into Failure classes. Internal to health/.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "health/probe.h"

namespace julier::health {

class ProbeOperation : public Operation, public std::enable_shared_from_this<ProbeOperation> {
public:
    ProbeOperation(boost::asio::io_context& io, TimePoint deadline, ProbeCallback done);

    void cancel() override;

protected:
    // Starts the deadline timer. Call once, at the start of the probe.
    void arm_deadline();

    // Ends the probe with `result`: stops its I/O, stamps the duration and calls
    // back. Later calls (a completion racing the deadline) do nothing.
    void finish(Result result);
    // finish(), but from a fresh handler: for failures found before any I/O.
    void finish_later(Result result);
    bool finished() const { return finished_; }

    // What the probe is waiting for, named in a timeout reason. A string literal:
    // it is kept as a view, so setting it costs nothing on the hot path.
    void set_phase(std::string_view phase) { phase_ = phase; }

    // Releases sockets, timers or processes. Called once, when the probe ends for
    // any reason; outstanding handlers then run with operation_aborted and must
    // check finished().
    virtual void stop_io() = 0;

    // The result reported when the deadline passes first.
    virtual Result timeout_result();

    template <class Self>
    std::shared_ptr<Self> self() {
        return std::static_pointer_cast<Self>(shared_from_this());
    }

    boost::asio::io_context& io_;
    TimePoint started_;
    TimePoint deadline_;

private:
    boost::asio::steady_timer timer_;
    ProbeCallback done_;
    std::string_view phase_ = "probing";
    bool finished_ = false;
};

// A failed socket operation as a Result: "connection refused while connecting".
Result socket_failure(const boost::system::error_code& error, std::string_view during);

// "1000 ms" / "250 us": how long a duration is, for reasons.
std::string describe(std::chrono::nanoseconds duration);

}  // namespace julier::health
