#include "health/probe_operation.h"

#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

namespace julier::health {

namespace asio = boost::asio;

void ProbeHandle::cancel() {
    if (auto operation = operation_.lock()) operation->cancel();
    operation_.reset();
}

ProbeOperation::ProbeOperation(asio::io_context& io, TimePoint deadline, ProbeCallback done)
    : io_(io), started_(Clock::now()), deadline_(deadline), timer_(io), done_(std::move(done)) {}

void ProbeOperation::arm_deadline() {
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
        if (error == asio::error::operation_aborted || self->finished_) return;
        self->finish(self->timeout_result());
    });
}

void ProbeOperation::cancel() {
    if (finished_) return;
    finished_ = true;
    done_ = nullptr;
    timer_.cancel();
    stop_io();
}

void ProbeOperation::finish(Result result) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    stop_io();
    result.duration = Clock::now() - started_;
    if (result.ok) result.failure = Failure::none;
    // Moved out first: the callback may drop the last reference to this probe.
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result));
}

void ProbeOperation::finish_later(Result result) {
    asio::post(io_,
               [self = shared_from_this(), result = std::move(result)]() mutable { self->finish(std::move(result)); });
}

Result ProbeOperation::timeout_result() {
    return Result::fail(Failure::timeout,
                        "timeout after " + describe(deadline_ - started_) + " while " + std::string(phase_));
}

Result socket_failure(const boost::system::error_code& error, std::string_view during) {
    namespace err = asio::error;
    Failure failure = Failure::network;
    std::string what;
    if (error == err::connection_refused) {
        failure = Failure::refused;
        what = "connection refused";
    } else if (error == err::host_unreachable || error == err::network_unreachable) {
        failure = Failure::unreachable;
        what = error == err::host_unreachable ? "host unreachable" : "network unreachable";
    } else if (error == err::connection_reset || error == err::broken_pipe || error == err::connection_aborted) {
        failure = Failure::reset;
        what = "connection reset";
    } else if (error == err::eof) {
        failure = Failure::reset;
        what = "connection closed by the backend";
    } else {
        what = error.message();
    }
    if (!during.empty()) what += " while " + std::string(during);
    return Result::fail(failure, std::move(what));
}

std::string describe(std::chrono::nanoseconds duration) {
    using namespace std::chrono;
    if (duration < 0ns) duration = 0ns;
    if (duration >= 10ms || duration % 1ms == 0ns)
        return std::to_string(duration_cast<milliseconds>(duration + 500us).count()) + " ms";
    return std::to_string(duration_cast<microseconds>(duration).count()) + " us";
}

}  // namespace julier::health
