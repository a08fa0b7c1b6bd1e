// Daemon: re-plans caused by health, slow start, next hops and interfaces run on a
// worker thread. Building the Maglev rings of thousands of backends and writing them
// takes long enough to stall the event loop (and with it the control socket and the
// health probes' own timing) during a health-check storm. One job at a time; the
// loop keeps the only copy of the daemon's state, the job works on copies, and its
// result is committed on the loop.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>

#include "daemon/daemon.h"
#include "daemon/logging.h"

namespace julier::daemon {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

void Daemon::replan(const std::string& reason) {
    if (stopping_ || torn_down_ || !dataplane_) return;
    if (job_) {
        replan_again_ = reason;  // the running job may predate what asked for this
        return;
    }
    auto job = std::make_unique<ApplyJob>();
    job->id = ++jobs_started_;
    job->reason = reason;
    job->catalogue = catalogue_;
    job->runtime = runtime_for(catalogue_, drains_);
    job->ids = plan_.ids;
    if (applied_) job->current = plan_;
    ApplyJob* j = job.get();
    job_ = std::move(job);
    dataplane::Dataplane* dataplane = dataplane_.get();
    job_thread_ = std::thread([this, j, dataplane] {
        try {
            ApplyTiming timing;
            const auto started = Clock::now();
            // The last applied plan lends its unchanged rings.
            j->next = j->current ? plan::make_plan(j->catalogue, j->runtime, *j->current)
                                 : plan::make_plan(j->catalogue, j->runtime, j->ids);
            timing.plan = Clock::now() - started;
            if (!j->current || !(*j->next == *j->current)) {
                const auto written_from = Clock::now();
                j->result = dataplane->apply(*j->next);
                timing.write = Clock::now() - written_from;
            }
            // Logging thousands of changed backends and relabelling the metrics also
            // stay off the loop.
            report_applied(j->catalogue, j->runtime, j->current ? *j->current : plan::Plan{}, *j->next, j->result,
                           j->reason, timing);
        } catch (const std::exception& e) {
            j->error = e.what();
        }
        boost::asio::post(io_, [this, id = j->id] { finish_background_apply(id); });
    });
}

void Daemon::finish_background_apply(std::uint64_t id) {
    if (!job_ || job_->id != id) return;  // already committed by wait_for_background_apply
    job_thread_.join();
    auto job = std::move(job_);
    if (!job->error.empty()) {
        // The live side is untouched: forwarding goes on with the last applied plan.
        spdlog::error("apply failed reason={} error={} note={}", kv(job->reason), kv(job->error),
                      kv("the forwarder keeps the last applied plan"));
    } else if (!torn_down_) {
        plan_ = std::move(*job->next);
        applied_ = true;
        update_announcements(job->reason);
    }
    if (replan_again_ && !stopping_) {
        const std::string reason = *replan_again_;
        replan_again_.reset();
        replan(reason);
    }
}

void Daemon::wait_for_background_apply() {
    if (!job_) return;
    // The caller plans from the state as it is now, which covers a pending replan.
    replan_again_.reset();
    const auto id = job_->id;
    finish_background_apply(id);
}

}  // namespace julier::daemon
