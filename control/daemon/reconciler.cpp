#include "daemon/reconciler.h"

#include <algorithm>
#include <exception>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "daemon/logging.h"
#include "health/manager.h"
#include "metrics/label_table.h"
#include "neigh/netlink_resolver.h"

namespace julier::daemon {
namespace {

using Clock = Reconciler::Clock;

std::string_view role_name(const std::optional<plan::BackendRole>& role) {
    return role ? plan::to_string(*role) : std::string_view("none");
}

void log_diff(const plan::PlanDiff& d, const std::string& reason) {
    for (const auto& name : d.added_services) spdlog::info("service added service={} reason={}", kv(name), kv(reason));
    for (const auto& name : d.removed_services) {
        spdlog::info("service removed service={} reason={}", kv(name), kv(reason));
    }
    for (const auto& b : d.backends) {
        spdlog::info("backend {} service={} backend={} from={} to={} weight={} reason={}",
                     b.kind == plan::PlanDiff::BackendChange::Kind::added     ? "added"
                     : b.kind == plan::PlanDiff::BackendChange::Kind::removed ? "removed"
                                                                              : "changed",
                     kv(b.service), b.address.to_string(), role_name(b.old_role), role_name(b.new_role), b.new_weight,
                     kv(reason));
    }
    if (d.flood_new_flow_rate)
        spdlog::info("flood protection changed new_flow_rate_per_cpu={} from={} reason={}",
                     d.flood_new_flow_rate->second, d.flood_new_flow_rate->first, kv(reason));
}

}  // namespace

// One reconcile: its inputs, copied on the loop when it starts, and its outputs,
// read by the loop once the worker is joined.
struct Reconciler::Run {
    std::uint64_t id = 0;
    std::string reason;
    DesiredState desired;
    bool candidate = false;  // desired replaces the desired state once committed
    plan::RuntimeState runtime;
    plan::IdAllocator ids;
    std::optional<plan::Plan> current;  // the live plan, when one was applied

    std::optional<plan::Plan> next;
    std::optional<dataplane::ApplyResult> result;  // unset: plan unchanged, nothing written
    std::string error;

    // plan -> diff -> apply -> report; on the worker thread, touching only the run,
    // the forwarder (one writer at a time) and the thread-safe metrics.
    void reconcile(const Writer& write, metrics::Metrics& metrics);
};

void Reconciler::Run::reconcile(const Writer& write, metrics::Metrics& metrics) {
    const auto started = Clock::now();
    // The last applied plan lends its unchanged rings.
    next = current ? plan::make_plan(desired.catalogue, runtime, *current)
                   : plan::make_plan(desired.catalogue, runtime, ids);
    const auto planned = Clock::now();
    if (!current || !(*next == *current)) result = write(*next);
    const auto written = Clock::now();

    metrics.publish(metrics::make_label_table(*next));  // health may have changed
    if (!result) {
        spdlog::debug("apply skipped reason={} note={}", kv(reason), kv("the plan is unchanged"));
        return;
    }
    const plan::Plan previous = current ? *current : plan::Plan{};
    log_diff(plan::diff(previous, *next), reason);
    // Only new problems: an unresolvable backend is not reported at every apply.
    const auto known = previous.problems();
    for (const auto& problem : next->problems()) {
        if (std::find(known.begin(), known.end(), problem) == known.end()) {
            spdlog::warn("backend unusable problem={}", kv(problem));
        }
    }
    // How long the plan and the map writes took: a large catalogue makes both slow.
    const auto ms = [](Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    spdlog::info(
        "applied generation={} reason={} services_written={} backends_written={} ring_slots_written={} "
        "keys_deleted={} full_write={} waited_us={} plan_ms={} write_ms={}",
        result->generation, kv(reason), result->services_written, result->backends_written, result->ring_slots_written,
        result->keys_deleted, result->full_write, result->waited.count(), ms(planned - started), ms(written - planned));
}

Reconciler::Reconciler(boost::asio::io_context& io, metrics::Metrics& metrics, OnCommitted on_committed)
    : io_(io), metrics_(metrics), on_committed_(std::move(on_committed)) {}

Reconciler::~Reconciler() {
    stopped_ = true;
    if (worker_.joinable()) worker_.join();
}

void Reconciler::set_health(const health::Manager* health) { health_ = health; }
void Reconciler::set_resolver(std::unique_ptr<neigh::Resolver> resolver) { resolver_ = std::move(resolver); }

void Reconciler::adopt(plan::IdAllocator ids, std::set<std::pair<std::string, common::IpAddress>> presumed_up) {
    plan_.ids = std::move(ids);
    presumed_up_ = std::move(presumed_up);
}

void Reconciler::verdict_arrived(const std::string& service, const common::IpAddress& address) {
    presumed_up_.erase({service, address});
}

std::unique_ptr<Reconciler::Run> Reconciler::make_run(DesiredState desired, std::string reason) const {
    auto run = std::make_unique<Run>();
    run->reason = std::move(reason);
    run->runtime.health = health_ ? health_->snapshot() : health::Snapshot{};
    if (!presumed_up_.empty() && Clock::now() < presume_until_) {
        for (const auto& [service, address] : presumed_up_) {
            auto& verdict = run->runtime.health[service][address];
            if (verdict.state == health::State::unknown) verdict = health::Verdict{health::State::up, 1.0, {}};
        }
    }
    run->runtime.overrides = desired.overrides.for_plan();
    run->runtime.next_hops = next_hops_;
    run->desired = std::move(desired);
    run->ids = plan_.ids;
    if (applied_) run->current = plan_;
    return run;
}

void Reconciler::request(std::string reason) {
    if (stopped_ || !writer_) return;
    if (run_) {
        again_ = std::move(reason);  // the running one may predate what asked for this
        return;
    }
    // The requests of one burst (e.g. the transitions of one batch of probe results) end in one run.
    if (posted_) return;
    posted_ = true;
    boost::asio::post(io_, [this, reason = std::move(reason)] {
        posted_ = false;
        if (stopped_ || !writer_) return;
        if (run_) {
            again_ = reason;
            return;
        }
        start(make_run(desired_, reason));
    });
}

void Reconciler::start(std::unique_ptr<Run> run) {
    run->id = ++runs_started_;
    run_ = std::move(run);
    worker_ = std::thread([this, r = run_.get(), write = writer_] {
        try {
            r->reconcile(write, metrics_);
        } catch (const std::exception& e) {
            r->error = e.what();
        }
        boost::asio::post(io_, [this, id = r->id] { finish(id); });
    });
}

void Reconciler::finish(std::uint64_t id) {
    if (!run_ || run_->id != id) return;  // already committed by wait() or reconcile_now()
    worker_.join();
    auto run = std::move(run_);
    if (!run->error.empty()) {
        // The live side is untouched: forwarding goes on with the last applied plan.
        spdlog::error("apply failed reason={} error={} note={}", kv(run->reason), kv(run->error),
                      kv("the forwarder keeps the last applied plan"));
    } else if (!stopped_) {
        if (run->candidate) {
            desired_ = std::move(run->desired);
            // Next hops of backends no longer in the catalogue are forgotten.
            const auto addresses = plan::backend_addresses(desired_.catalogue);
            const std::set<common::IpAddress> keep(addresses.begin(), addresses.end());
            std::erase_if(next_hops_, [&](const auto& entry) { return keep.count(entry.first) == 0; });
        }
        plan_ = std::move(*run->next);
        applied_ = true;
        if (on_committed_) on_committed_(run->reason);
    }
    if (again_ && !stopped_) {
        std::string reason = std::move(*again_);
        again_.reset();
        start(make_run(desired_, std::move(reason)));
    }
    // Only reconcile_now() finishes a candidate's run, and answers with its failure.
    if (!run->error.empty() && run->candidate) throw std::runtime_error(run->error);
}

void Reconciler::wait() {
    if (!run_) return;
    finish(run_->id);
    // A request folded into the run just committed starts again; wait for it too,
    // so the caller is the only writer when this returns.
    if (run_) finish(run_->id);
}

void Reconciler::reconcile_now(DesiredState candidate, const std::string& reason) {
    wait();
    again_.reset();  // this run plans from the state as it is now, which covers them
    auto run = make_run(std::move(candidate), reason);
    run->candidate = true;
    start(std::move(run));
    finish(run_->id);
}

plan::Plan Reconciler::preview(const DesiredState& candidate) {
    auto run = make_run(candidate, "dry run");
    std::vector<common::IpAddress> unknown;
    for (const auto& address : plan::backend_addresses(candidate.catalogue)) {
        if (!next_hops_.contains(address)) unknown.push_back(address);
    }
    if (!unknown.empty() && resolver_) {
        for (auto& [address, resolution] : resolver_->resolve(unknown)) run->runtime.next_hops[address] = resolution;
    }
    return run->current ? plan::make_plan(run->desired.catalogue, run->runtime, *run->current)
                        : plan::make_plan(run->desired.catalogue, run->runtime, run->ids);
}

void Reconciler::stop() { stopped_ = true; }

bool Reconciler::resolve_next_hops(const std::vector<common::IpAddress>& addresses, bool wait) {
    bool any_change = false;
    std::map<common::IpAddress, neigh::Resolution> answers;
    if (wait) {
        answers = resolver_->resolve(addresses);
    } else {
        // Periodic refresh: ask without waiting (an unanswered one is asked again
        // at the next refresh), so the loop never blocks on ARP.
        neigh::NetlinkResolver quick(
            neigh::NetlinkResolver::Options{std::chrono::milliseconds(0), std::chrono::milliseconds(1)});
        answers = quick.resolve(addresses);
    }

    for (const auto& address : addresses) {
        auto answer = answers.find(address);
        auto previous = next_hops_.find(address);
        neigh::Resolution resolution =
            answer != answers.end() ? answer->second : neigh::Resolution{std::nullopt, "not resolved"};
        if (!resolution.ok() && previous != next_hops_.end()) {
            // A failed refresh keeps the last good answer (the health check notices a
            // backend that really went away), and a failure stays the failure first
            // reported: only a new answer changes the plan.
            spdlog::debug("next hop still unresolved backend={} error={}", address.to_string(), kv(resolution.error));
            continue;
        }
        const bool changed = previous == next_hops_.end() || previous->second != resolution;
        if (changed && resolution.ok() && previous != next_hops_.end() && previous->second.ok()) {
            spdlog::warn("next hop changed backend={} mac={} previous_mac={} interface={} previous_interface={}",
                         address.to_string(), neigh::to_string(resolution.next_hop->dst_mac),
                         neigh::to_string(previous->second.next_hop->dst_mac), kv(resolution.next_hop->ifname),
                         kv(previous->second.next_hop->ifname));
        } else if (changed && resolution.ok()) {
            spdlog::info("next hop backend={} mac={} interface={}", address.to_string(),
                         neigh::to_string(resolution.next_hop->dst_mac), kv(resolution.next_hop->ifname));
        } else if (changed) {
            spdlog::warn("next hop unresolved backend={} error={}", address.to_string(), kv(resolution.error));
        }
        any_change = any_change || changed;
        next_hops_[address] = std::move(resolution);
    }
    return any_change;
}

}  // namespace julier::daemon
