// Daemon: from catalogue + runtime state to the forwarder (plan, apply, log).
#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "neigh/netlink_resolver.h"

namespace julier::daemon {
namespace {

using Clock = std::chrono::steady_clock;

std::string_view role_name(const std::optional<plan::BackendRole>& role) {
    return role ? plan::to_string(*role) : std::string_view("none");
}

void log_diff(const plan::PlanDiff& d, const std::string& reason) {
    for (const auto& name : d.added_services)
        spdlog::info("service added service={} reason={}", kv(name), kv(reason));
    for (const auto& name : d.removed_services) {
        spdlog::info("service removed service={} reason={}", kv(name), kv(reason));
    }
    for (const auto& b : d.backends) {
        spdlog::info("backend {} service={} backend={} from={} to={} weight={} reason={}",
                     b.kind == plan::PlanDiff::BackendChange::Kind::added     ? "added"
                     : b.kind == plan::PlanDiff::BackendChange::Kind::removed ? "removed"
                                                                              : "changed",
                     kv(b.service), b.address.to_string(), role_name(b.old_role), role_name(b.new_role),
                     b.new_weight, kv(reason));
    }
    if (d.flood_new_flow_rate)
        spdlog::info("flood protection changed new_flow_rate_per_cpu={} from={} reason={}",
                     d.flood_new_flow_rate->second, d.flood_new_flow_rate->first, kv(reason));
}

}  // namespace

plan::RuntimeState Daemon::runtime_for(const config::Catalogue& catalogue,
                                       const OperatorDrains& drains) const {
    plan::RuntimeState runtime;
    runtime.next_hops = next_hops_;
    const bool presuming = !presumed_up_.empty() && Clock::now() < presume_until_;
    for (const auto& service : catalogue.services) {
        auto& per_service = runtime.backends[service.name];
        for (const auto& backend : service.backends) {
            plan::BackendRuntime r;
            if (health_) {
                const auto view = health_->view(service.name, backend.address);
                r.health = view.health;
                r.weight_factor = view.health == plan::Health::up ? view.weight_factor : 1.0;
            }
            if (r.health == plan::Health::unknown && presuming &&
                presumed_up_.count({service.name, backend.address}) != 0) {
                r.health = plan::Health::up;
                r.weight_factor = 1.0;
            }
            r.state_override = drains.override_for(service.name, backend.address);
            per_service[backend.address] = r;
        }
    }
    return runtime;
}

plan::Plan Daemon::plan_and_apply(const config::Catalogue& catalogue, const OperatorDrains& drains,
                                  const std::string& reason) {
    // One apply at a time, each planned from the last committed plan's ids.
    wait_for_background_apply();
    const auto runtime = runtime_for(catalogue, drains);
    ApplyTiming timing;
    const auto started = Clock::now();
    plan::Plan next = plan::make_plan(catalogue, runtime, plan_);  // reuses unchanged rings
    timing.plan = Clock::now() - started;
    if (applied_ && next == plan_) {
        report_applied(catalogue, runtime, plan_, next, std::nullopt, reason, timing);
        return next;
    }
    const auto written_from = Clock::now();
    const auto result = dataplane_->apply(next);
    timing.write = Clock::now() - written_from;
    report_applied(catalogue, runtime, plan_, next, result, reason, timing);
    return next;
}

void Daemon::report_applied(const config::Catalogue& catalogue, const plan::RuntimeState& runtime,
                            const plan::Plan& previous, const plan::Plan& next,
                            const std::optional<dataplane::ApplyResult>& applied, const std::string& reason,
                            const ApplyTiming& timing) {
    metrics_.publish(metrics::make_label_table(catalogue, next, runtime));  // health may have changed
    if (!applied) {
        spdlog::debug("apply skipped reason={} note={}", kv(reason), kv("the plan is unchanged"));
        return;
    }
    const auto& result = *applied;
    log_diff(plan::diff(previous, next), reason);
    // Only new problems: an unresolvable backend is not reported at every apply.
    const auto known = previous.problems();
    for (const auto& problem : next.problems()) {
        if (std::find(known.begin(), known.end(), problem) == known.end()) {
            spdlog::warn("backend unusable problem={}", kv(problem));
        }
    }
    // How long the plan and the map writes took: a large catalogue makes both slow.
    const auto ms = [](Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    spdlog::info(
        "applied generation={} reason={} services_written={} backends_written={} ring_slots_written={} "
        "keys_deleted={} full_write={} waited_us={} plan_ms={} write_ms={}",
        result.generation, kv(reason), result.services_written, result.backends_written,
        result.ring_slots_written, result.keys_deleted, result.full_write, result.waited.count(),
        ms(timing.plan), ms(timing.write));
}

bool Daemon::resolve_next_hops(const config::Catalogue& catalogue, bool wait) {
    return resolve_next_hops(plan::backend_addresses(catalogue), wait);
}

bool Daemon::resolve_next_hops(const std::vector<common::IpAddress>& addresses, bool wait) {
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
            spdlog::debug("next hop still unresolved backend={} error={}", address.to_string(),
                          kv(resolution.error));
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
            spdlog::warn("next hop unresolved backend={} error={}", address.to_string(),
                         kv(resolution.error));
        }
        any_change = any_change || changed;
        next_hops_[address] = std::move(resolution);
    }
    return any_change;
}

void Daemon::forget_next_hops_outside(const config::Catalogue& catalogue) {
    const auto addresses = plan::backend_addresses(catalogue);
    const std::set<common::IpAddress> keep(addresses.begin(), addresses.end());
    std::erase_if(next_hops_, [&](const auto& entry) { return keep.count(entry.first) == 0; });
}

void Daemon::on_health_transition(const HealthTransition& t) {
    const auto log = t.to == plan::Health::down ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(log, "health service={} backend={} from={} to={} reason={}", kv(t.service),
                t.address.to_string(), plan::to_string(t.from), plan::to_string(t.to), kv(t.reason));
    presumed_up_.erase({t.service, t.address});
    if (t.to == plan::Health::up) {
        // The probe's own traffic made the kernel learn the backend's MAC.
        auto hop = next_hops_.find(t.address);
        if (hop != next_hops_.end() && !hop->second.ok()) resolve_next_hops(std::vector{t.address}, /*wait=*/false);
    }
    request_replan(fmt::format("health {} {} {}", t.service, t.address.to_string(), plan::to_string(t.to)));
}

}  // namespace julier::daemon
