// The one owner of julierd's desired state (catalogue, operator overrides, next hops,
// and the health snapshot taken at each run) and of the last applied plan, with one
// entry: a reconcile plans the desired state, compares it with the applied plan,
// applies the difference and reports it (logs, metrics labels), on a worker thread.
//
// Reload, health transitions, drains, next-hop and link events only mark what
// changed and ask for a reconcile; a burst of requests ends in one run, and a
// request while one runs folds into one more run after it. The paths that answer
// with the result (start, reload, drain) run the same reconcile and wait for it.
// Building the rings of thousands of backends and writing them takes long enough to
// stall the event loop; the worker works on copies, and its result is committed on
// the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/ip.h"
#include "config/catalogue.h"
#include "daemon/operator_overrides.h"
#include "dataplane/dataplane.h"
#include "health/state.h"
#include "metrics/metrics.h"
#include "neigh/resolver.h"
#include "plan/plan.h"

namespace julier::health {
class Manager;
}

namespace julier::daemon {

// What the operator asked for: the catalogue and the run-time overrides (drains,
// weights, maint).
struct DesiredState {
    config::Catalogue catalogue;
    OperatorOverrides overrides;
};

class Reconciler {
public:
    using Clock = std::chrono::steady_clock;
    // Runs on the loop after each committed apply: announcements follow the plan.
    using OnCommitted = std::function<void(const std::string& reason)>;
    // Writes a plan to the forwarder (Dataplane::apply), on the worker thread.
    using Writer = std::function<dataplane::ApplyResult(const plan::Plan& plan)>;

    Reconciler(boost::asio::io_context& io, metrics::Metrics& metrics, OnCommitted on_committed);
    ~Reconciler();  // waits for a running reconcile; commits nothing more
    Reconciler(const Reconciler&) = delete;
    Reconciler& operator=(const Reconciler&) = delete;

    // ---- wiring, at start ----
    // No writer (none yet, or after teardown): nothing is reconciled.
    void set_writer(Writer writer) { writer_ = std::move(writer); }
    void set_health(const health::Manager* health);  // its snapshot is read at each reconcile
    void set_resolver(std::unique_ptr<neigh::Resolver> resolver);
    // A forwarder adopted from pins: keep its ids, and count the backends that were
    // in its rings as up until their first verdict or presume_until(), so a restart
    // does not empty the rings while the checks gather their first `rise` results.
    void adopt(plan::IdAllocator ids, std::set<std::pair<std::string, common::IpAddress>> presumed_up);
    void presume_until(Clock::time_point until) { presume_until_ = until; }
    std::size_t presumed_up() const { return presumed_up_.size(); }

    // The desired state before the first reconcile (start).
    void set_desired(DesiredState desired) { desired_ = std::move(desired); }

    // ---- state ----
    const DesiredState& desired() const { return desired_; }
    const plan::Plan& plan() const { return plan_; }  // last applied
    bool applied() const { return applied_; }         // plan() is live
    const std::map<common::IpAddress, neigh::Resolution>& next_hops() const { return next_hops_; }

    // ---- marks: what changed (each caller then asks for a reconcile) ----
    // Looks up the next hops of `addresses` (waiting for answers, or only asking
    // when !wait); returns whether one changed.
    bool resolve_next_hops(const std::vector<common::IpAddress>& addresses, bool wait);
    // A backend's first verdict since the restart ends its presumption.
    void verdict_arrived(const std::string& service, const common::IpAddress& address);
    // The first verdicts are overdue: presumed backends count as their checks say.
    void end_presumption() { presumed_up_.clear(); }

    // ---- the entry ----
    // Asks for a reconcile of the desired state on the worker thread.
    void request(std::string reason);
    // Runs the reconcile with `candidate` as the desired state and waits for it. On
    // success `candidate` is the desired state and its plan the applied one; on
    // failure it throws std::runtime_error with the planner's or the forwarder's
    // message, and nothing changed.
    void reconcile_now(DesiredState candidate, const std::string& reason);
    // The same with the desired state as it is (start).
    void reconcile_now(const std::string& reason) { reconcile_now(desired_, reason); }
    // The plan `candidate` would get now, as reconcile_now would make it (health
    // snapshot, overrides, next hops, the applied plan's ids and rings), on the
    // calling thread; nothing is written or kept. The next hop of a backend not
    // looked up before is asked for (waiting, as a reload does) and then forgotten.
    // Throws plan::PlanError when the plan cannot be built.
    plan::Plan preview(const DesiredState& candidate);
    // Lets a running reconcile finish and commits it (before another writer, e.g. attach).
    void wait();
    // No reconcile starts or commits after this (stop; teardown after wait()).
    void stop();

private:
    struct Run;

    std::unique_ptr<Run> make_run(DesiredState desired, std::string reason) const;
    void start(std::unique_ptr<Run> run);
    // Joins the worker and commits its result on the loop.
    void finish(std::uint64_t id);

    boost::asio::io_context& io_;
    metrics::Metrics& metrics_;
    OnCommitted on_committed_;
    Writer writer_;
    const health::Manager* health_ = nullptr;
    std::unique_ptr<neigh::Resolver> resolver_;

    DesiredState desired_;
    std::map<common::IpAddress, neigh::Resolution> next_hops_;
    std::set<std::pair<std::string, common::IpAddress>> presumed_up_;
    Clock::time_point presume_until_{};
    plan::Plan plan_;       // last applied
    bool applied_ = false;  // plan_ is live

    std::unique_ptr<Run> run_;  // running now
    std::thread worker_;
    std::uint64_t runs_started_ = 0;
    bool posted_ = false;               // a request is queued on the loop
    std::optional<std::string> again_;  // reason of a request made while a run ran
    bool stopped_ = false;
};

}  // namespace julier::daemon
